import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AvailableProbe, openSideChannelFile, type RunSpec } from '@polythene/probe';
import { createBusyboxRootfs } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildChrootArgs,
  chrootArgsOptionsFrom,
  chrootHostDev,
  createChrootBackend,
  readChrootDetails,
} from '../src/index.ts';

const isRoot = process.geteuid?.() === 0;

// The set-up script run straight from its argv (no supervisor), both ways it can build /dev.
describe.skipIf(!isRoot)(
  isRoot ? 'the chroot set-up script' : 'the chroot set-up script (skipped: chroot needs root)',
  { timeout: 60_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'polythene-chroot-script-'));
    const rootfs = join(dir, 'rootfs');
    let probe: AvailableProbe;
    beforeAll(async () => {
      const result = await createChrootBackend().probe({ isRoot, hostEnv: process.env });
      if (!result.available) throw new Error(result.reason);
      probe = result;
      await createBusyboxRootfs(rootfs);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const runScript = (
      canCopyDevLinks: boolean,
      env: Record<string, string>,
      argv: string[] = [
        '/bin/sh',
        '-c',
        'ls -A /dev | tr "\\n" " "; echo; for link in fd stdin stdout stderr; do readlink /dev/$link; done | tr "\\n" " "; echo; stat -c %a /dev/shm; stat -c "%F %t,%T" /dev/ptmx; readlink /dev/ptmx || echo; (exec 5<>/dev/ptmx && ls /dev/pts | tr "\\n" " "); echo; grep -cE " /proc/(sys|irq|bus) ro," /proc/self/mountinfo',
      ],
    ) => {
      const spec: RunSpec = {
        rootfs,
        argv,
        env,
        cwd: '/',
        uid: 0,
        gid: 0,
        binds: [],
        stdio: 'pipe',
        killGraceMs: 1_000,
        forwardSignals: false,
        probe,
      };
      const { file, args, mountTable } = buildChrootArgs(
        spec,
        chrootArgsOptionsFrom(readChrootDetails(probe.details)),
        {
          proc: join(rootfs, 'proc'),
          dev: join(rootfs, 'dev'),
          binds: [],
          ...chrootHostDev(),
          canCopyDevLinks,
        },
      );
      const mountTableFile = openSideChannelFile(mountTable);
      try {
        const result = spawnSync(file, args, {
          env,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe', 'pipe', mountTableFile.fd],
        });
        expect(result.status, result.stderr).toBe(0);
        return result.stdout.split('\n');
      } finally {
        mountTableFile.close();
      }
    };

    it.each([
      ['copies the /proc/self/fd links from the host', true],
      ['makes the /proc/self/fd links itself', false],
    ])('%s: the same minimal /dev either way', (_how, canCopyDevLinks) => {
      const [listing, links, shmMode, ptmx, ptmxLink, tty, readOnlySys] = runScript(
        canCopyDevLinks,
        { PATH: '/bin' },
      );
      expect(listing?.trim().split(' ').sort()).toEqual(
        [
          'fd',
          'full',
          'null',
          'ptmx',
          'pts',
          'random',
          'shm',
          'stderr',
          'stdin',
          'stdout',
          'tty',
          'urandom',
          'zero',
        ].sort(),
      );
      expect(links?.trim()).toBe('/proc/self/fd /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2');
      expect(shmMode).toBe('1777');
      // ptmx: the host's multiplexer copied, or a link to the new devpts's own; either opens
      // a new terminal (0) in that devpts, not in the host's.
      expect(canCopyDevLinks ? ptmx : ptmxLink).toBe(
        canCopyDevLinks ? 'character special file 5,2' : 'pts/ptmx',
      );
      expect(tty?.trim()).toBe('0 ptmx');
      // /proc/sys, /proc/irq and /proc/bus, those this kernel has.
      const expected = chrootHostDev().kernelProcEntries.filter((name) =>
        ['sys', 'irq', 'bus'].includes(name),
      );
      expect(expected).toContain('sys');
      expect(readOnlySys).toBe(String(expected.length));
    });

    it("gives the command its own PATH, or none, whatever the host's tools needed", () => {
      const pathOf = (env: Record<string, string>): string[] =>
        runScript(false, env, ['/usr/bin/env']).filter((line) => line.startsWith('PATH='));
      expect(pathOf({ PATH: '/opt/nowhere:/bin' })).toEqual(['PATH=/opt/nowhere:/bin']);
      expect(pathOf({ GREETING: 'hi' })).toEqual([]);
    });
  },
);
