import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AvailableProbe, RunSpec } from '@polythene/probe';
import { createBusyboxRootfs } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProotBackend } from '../src/index.ts';

const backend = createProotBackend();

/** proot's glue directories made since `since` whose proot is gone: what it failed to remove. */
function orphanedGlue(since: number): string[] {
  return readdirSync('/tmp').filter((name) => {
    const match = /^proot-(\d+)-/.exec(name);
    if (match === null) return false;
    try {
      if (statSync(join('/tmp', name)).ctimeMs < since) return false;
      process.kill(Number(match[1]), 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
}

describe('proot killed at a timeout', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'polythene-proot-glue-'));
  let spec: RunSpec;
  beforeAll(async () => {
    const probe = await backend.probe({
      isRoot: process.geteuid?.() === 0,
      hostEnv: process.env,
    });
    if (!probe.available) throw new Error(probe.reason);
    const rootfs = join(dir, 'rootfs');
    await createBusyboxRootfs(rootfs);
    spec = {
      rootfs,
      argv: ['/bin/sleep', '30'],
      env: { PATH: '/bin' },
      cwd: '/',
      uid: 0,
      gid: 0,
      // A target the image lacks: proot shows it through a glue directory in /tmp.
      binds: [{ source: dir, target: '/not-in-the-image', readOnly: false }],
      stdio: 'pipe',
      timeoutMs: 300,
      killGraceMs: 1_000,
      forwardSignals: false,
      probe: probe as AvailableProbe,
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves none of the glue directories proot made for it', async () => {
    const startedAt = Date.now() - 1_000;
    const result = await backend.run(spec);
    expect(result.timedOut).toBe(true);
    expect(orphanedGlue(startedAt)).toEqual([]);
  });
});
