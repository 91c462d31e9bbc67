import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AvailableProbe, RunSpec } from '@polythene/probe';
import { createBusyboxRootfs } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChrootBackend } from '../src/index.ts';

const isRoot = process.geteuid?.() === 0;
const backend = createChrootBackend();

describe.skipIf(!isRoot)(
  isRoot ? 'chroot on an overlay root' : 'chroot on an overlay root (skipped: chroot needs root)',
  { timeout: 60_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'polythene-chroot-overlay-'));
    let probe: AvailableProbe;
    let spec: RunSpec;
    beforeAll(async () => {
      const result = await backend.probe({ isRoot, hostEnv: process.env });
      if (!result.available) throw new Error(result.reason);
      probe = result;
      const lower = join(dir, 'lower');
      await createBusyboxRootfs(lower);
      // A symlink in the image that would turn a bind target into a host path.
      symlinkSync('/etc', join(lower, 'escape'));
      for (const name of ['upper', 'work', 'source']) mkdirSync(join(dir, name));
      spec = {
        rootfs: lower,
        overlay: { lowerDirs: [lower], upperDir: join(dir, 'upper'), workDir: join(dir, 'work') },
        argv: ['/bin/true'],
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
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('claims canOverlay after a real trial mount', () => {
      expect(probe.canOverlay).toBe(true);
    });

    it('refuses a bind target that passes through a symlink in the overlay root', async () => {
      const hostsBefore = readFileSync('/etc/hostname', 'utf8');
      await expect(
        backend.run({
          ...spec,
          binds: [{ source: join(dir, 'source'), target: '/escape/hostname', readOnly: true }],
        }),
      ).rejects.toMatchObject({
        code: 'POLYTHENE_SETUP_FAILED',
        message: expect.stringMatching(/passes through a symlink/),
      });
      expect(readFileSync('/etc/hostname', 'utf8')).toBe(hostsBefore);
    });

    it('leaves no mount of its layers on the host', async () => {
      const result = await backend.run({
        ...spec,
        argv: ['/bin/sh', '-c', 'mount | grep -c overlay'],
      });
      expect(result.exitCode).toBe(0);
      expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(dir);
    });
  },
);
