import { chmod, copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianImage, ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { freshStorePath, removeWhenDone, runPolythene } from './run-polythene.ts';

interface BackendRow {
  name: string;
  available: boolean;
  guarantees: string[];
  lost: { guarantee: string; reason: string }[];
}

// What proot says it loses must be what its probe found, in every place it is said: the
// `backends` table and the warning line of an exec, and each guarantee is either kept or
// lost, never both or neither.
describe("proot's lost guarantees", () => {
  it('match the probe in `backends --json` and in the exec warning', async () => {
    const listed = await runPolythene(['backends', '--json']);
    expect(listed.exitCode).toBe(0);
    const rows = JSON.parse(listed.stdout) as BackendRow[];
    const proot = rows.find((row) => row.name === 'proot');
    const bwrap = rows.find((row) => row.name === 'bwrap');
    if (!proot?.available) throw new Error('proot is not available on this host');
    const lostNames = proot.lost.map((entry) => entry.guarantee);
    expect(lostNames.length).toBeGreaterThan(0);
    for (const entry of proot.lost) expect(entry.reason).not.toBe('');
    expect(lostNames.filter((name) => proot.guarantees.includes(name))).toEqual([]);
    // Together they are every guarantee the full sandbox gives.
    expect([...proot.guarantees, ...lostNames].sort()).toEqual(
      [...(bwrap?.guarantees ?? [])].sort(),
    );

    const store = await freshStorePath();
    const images = await ensureTestImages();
    const id = (await runPolythene(['pull', images.busybox, '-s', store, '-q'])).stdout.trim();
    const ran = await runPolythene([
      'exec',
      id,
      '-s',
      store,
      '-i',
      'proot',
      '--json',
      '--',
      'true',
    ]);
    expect(ran.exitCode).toBe(0);
    expect(JSON.parse(ran.stdout).guarantees.sort()).toEqual([...proot.guarantees].sort());
    const warning = ran.stderr.split('\n').find((line) => line.includes('runs without'));
    const warned = /runs without (.*) isolation/.exec(warning ?? '')?.[1]?.split(', ') ?? [];
    expect([...warned].sort()).toEqual([...lostNames].sort());
  });
});

const isRoot = process.getuid?.() === 0;
const hasDebootstrap =
  (await execa('debootstrap', ['--version'], { reject: false })).exitCode === 0;

// A setuid-root binary run by a non-root user in the box does not raise its ids: proot only
// emulates root (its probe says so, in the `ids` reason), bwrap and chroot set no_new_privs.
describe.skipIf(!isRoot || !hasDebootstrap)(
  'setuid binaries in the box (root, debootstrap)',
  () => {
    it('a setuid-root binary gives a non-root user in the box nothing: proot says so, bwrap and chroot keep no_new_privs', async () => {
      const listed = await runPolythene(['backends', '--json']);
      const proot = (JSON.parse(listed.stdout) as BackendRow[]).find((row) => row.name === 'proot');
      const ids = proot?.lost.find((entry) => entry.guarantee === 'ids');
      expect(ids?.reason).toMatch(/setuid binaries.*do not take effect/);

      const store = await freshStorePath('polythene-proot-setuid-');
      const image = await ensureDebianImage();
      const pulled = await runPolythene(['pull', image.ref, '-s', store, '-q']);
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      const rootfs = join(store, pulled.stdout.trim());
      // A setuid-root `id` in the image; a copy on the host shows that it does raise a non-root
      // caller's effective uid there (the store itself is 0700, out of reach of uid 65534).
      await copyFile(join(rootfs, 'usr/bin/id'), join(rootfs, 'usr/local/bin/suid-id'));
      await chmod(join(rootfs, 'usr/local/bin/suid-id'), 0o4755);
      const hostDir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-suid-')));
      await chmod(hostDir, 0o755);
      await copyFile(join(rootfs, 'usr/local/bin/suid-id'), join(hostDir, 'suid-id'));
      await chmod(join(hostDir, 'suid-id'), 0o4755);
      const onHost = await execa('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        join(hostDir, 'suid-id'),
        '-u',
      ]);
      expect(onHost.stdout.trim()).toBe('0');
      // proot only emulates root; bwrap and chroot set no_new_privs (docs/backends.md): on no
      // backend does the bit raise a non-root user's ids.
      for (const backend of ['proot', 'bwrap', 'chroot']) {
        const inBox = await runPolythene([
          'exec',
          pulled.stdout.trim(),
          '-s',
          store,
          '-i',
          backend,
          '--user',
          '65534:65534',
          '--',
          'sh',
          '-c',
          '/usr/local/bin/suid-id -u; grep NoNewPrivs /proc/self/status',
        ]);
        expect(inBox.exitCode, `${backend}: ${inBox.stderr}`).toBe(0);
        expect(inBox.stdout, backend).toMatch(/^65534\nNoNewPrivs:\s+1\n$/);
      }
    });
  },
);
