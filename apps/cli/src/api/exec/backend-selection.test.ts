import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../logger.ts';
import { createExecBackendChooser } from './backend-selection.ts';

let cacheHome: string;
beforeEach(() => {
  cacheHome = mkdtempSync(join(tmpdir(), 'polythene-selection-'));
});
afterEach(() => {
  rmSync(cacheHome, { recursive: true, force: true });
});

const chooserFor = (logger = silentLogger) =>
  createExecBackendChooser({
    preferred: 'proot',
    hostEnv: { PATH: process.env.PATH, XDG_CACHE_HOME: cacheHome },
    cwd: process.cwd(),
    strict: false,
    logger,
  });

// proot (the real one) is installed wherever these tests run.
describe('createExecBackendChooser', () => {
  it('reuses what a lookup found within a second, and forgets it with a set-up failure', async () => {
    const first = await (await chooserFor()).choose([]);
    expect(first.backend.name).toBe('proot');
    // A second exec of the same process: the same answer, not looked up again.
    expect((await (await chooserFor()).choose([])).probe).toBe(first.probe);

    // The backend failed to set up its sandbox: the next exec looks (and probes) afresh.
    await first.forget();
    const afterFailure = await (await chooserFor()).choose([]);
    expect(afterFailure.backend.name).toBe('proot');
    expect(afterFailure.probe).not.toBe(first.probe);
    expect(afterFailure.probe).toEqual(first.probe);
  });

  it('looks up afresh when verbose, which says how the backend was chosen', async () => {
    const lines: string[] = [];
    const verbose = {
      ...silentLogger,
      isVerbose: true,
      verbose: (line: string) => lines.push(line),
    };
    await (await chooserFor()).choose([]);
    await (await chooserFor(verbose)).choose([]);
    expect(lines.some((line) => line.includes('proot'))).toBe(true);
  });
});
