import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecBackendChooser } from '@polythene/core/internal/exec/backend-selection';
import { silentLogger } from '@polythene/core/internal/logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBuiltinBackends } from './engine.ts';

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
    backends: createBuiltinBackends(),
    cwd: process.cwd(),
    strict: false,
    logger,
  });

// proot (the real one) is installed wherever these tests run.
// Core's backend chooser with the CLI's built-ins (core itself ships no backend).
describe('createExecBackendChooser', () => {
  it('reuses what a lookup found within a second, and a recheck probes afresh', async () => {
    const first = await (await chooserFor()).choose([]);
    expect(first.backend.name).toBe('proot');
    // A second exec of the same process: the same answer, not looked up again.
    expect((await (await chooserFor()).choose([])).probe).toBe(first.probe);

    // A set-up failure: a probe this lookup made is not repeated, but the remembered answer
    // is dropped, so the next exec reads the probe cache.
    expect(await first.recheck()).toBeUndefined();
    const cached = await (await chooserFor()).choose([]);
    // A set-up failure with a cached probe: it is probed afresh, still available here.
    expect(await cached.recheck()).toBeUndefined();
    const afterFailure = await (await chooserFor()).choose([]);
    expect(afterFailure.backend.name).toBe('proot');
    expect(afterFailure.probe).toEqual(first.probe);
  });

  it('passes the preferred backend over with one warning when it cannot mount the overlay root, and refuses under strict', async () => {
    const warnings: string[] = [];
    const verboseLines: string[] = [];
    const logger = {
      ...silentLogger,
      isVerbose: true,
      warn: (line: string) => warnings.push(line),
      verbose: (line: string) => verboseLines.push(line),
    };
    const chooser = await chooserFor(logger);
    const selection = await chooser.choose([], { needsOverlay: true }).catch(() => undefined);
    // bwrap (or chroot as root) mounts overlays here; proot never does.
    if (selection !== undefined) {
      expect(selection.backend.name).not.toBe('proot');
      expect(
        warnings.filter((line) => line.includes('proot cannot mount an overlay root')),
      ).toHaveLength(1);
    }
    expect(verboseLines.join('\n')).not.toContain('set-up failure');
    const strict = await createExecBackendChooser({
      preferred: 'proot',
      hostEnv: { PATH: process.env.PATH, XDG_CACHE_HOME: cacheHome },
      backends: createBuiltinBackends(),
      cwd: process.cwd(),
      strict: true,
      logger: silentLogger,
    });
    const refusal = await strict
      .choose([], { needsOverlay: true })
      .catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'POLYTHENE_SETUP_FAILED' });
    expect(String(refusal)).toContain('proot cannot mount an overlay root');
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
