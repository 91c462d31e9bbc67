import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AvailableProbe, RunSpec } from '@polythene/probe';
import { createBusyboxRootfs } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildProotArgs,
  createProotBackend,
  openProotDevDir,
  prootArgsOptionsFrom,
  readProotDetails,
} from '../src/index.ts';

const isRoot = process.geteuid?.() === 0;

// As root, proot's command could write root's files in the host's /proc: the dangerous ones
// are shown as the run's own /dev/null. /proc/sysrq-trigger, masked in practice, is missing on
// some kernels (this machine's), so the mechanism is checked on a file every kernel has.
describe.skipIf(!isRoot)('a masked /proc path under proot (as root)', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'polythene-proot-mask-'));
  const rootfs = join(dir, 'rootfs');
  let probe: AvailableProbe;
  beforeAll(async () => {
    const result = await createProotBackend().probe({ isRoot, hostEnv: process.env });
    if (!result.available) throw new Error(result.reason);
    probe = result;
    await createBusyboxRootfs(rootfs);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads as empty, and takes writes without passing them on', () => {
    const spec: RunSpec = {
      rootfs,
      // Writes back the host's own name: were the mask missing, nothing would change.
      argv: [
        '/bin/sh',
        '-c',
        `wc -c < /proc/sys/kernel/hostname; echo ${hostname()} > /proc/sys/kernel/hostname && echo written`,
      ],
      env: { PATH: '/bin' },
      cwd: '/',
      uid: 0,
      gid: 0,
      binds: [],
      stdio: 'pipe',
      killGraceMs: 1_000,
      forwardSignals: false,
      probe,
    };
    const devDir = openProotDevDir();
    try {
      expect(devDir.hasDeviceNodes).toBe(true);
      const options = prootArgsOptionsFrom(readProotDetails(probe.details), true, devDir);
      const { file, args } = buildProotArgs(spec, {
        ...options,
        maskedProcPaths: ['/proc/sys/kernel/hostname'],
      });
      const run = spawnSync(file, args, { env: spec.env, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.split('\n').map((line) => line.trim())).toEqual(['0', 'written', '']);
    } finally {
      devDir.release();
    }
  });
});
