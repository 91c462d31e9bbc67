// Ownership is kept (issue 15, point 4): an unprivileged pull stores the image's owners
// shifted into the user's subordinate range, as rootless podman does, so a fresh box lists
// the same owners and modes as root's box and as the image itself; copy clones, diff, rm and
// prune work on such trees.
import { chmod, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureDebianImage,
  ensureDebianImageAs,
  ensureTestUser,
  testUserEnv,
} from '@polythene/test-images';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  type PolytheneRun,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

const isRoot = process.getuid?.() === 0;
const hasDebootstrap =
  (await execa('debootstrap', ['--version'], { reject: false })).exitCode === 0;

// Every path of the box's own tree with its numeric owner, group and mode. Left out: `/`
// (the store makes it 0755), and /proc and /dev, which the box mounts.
const listingScript = `find / -xdev \\( -path /proc -o -path /dev \\) -prune -o -printf '%U %G %m %p\\n' | grep -v ' /$' | sort`;

// The command's output, trimmed (the user's runs lose the final newline, root's keep it).
function expectOk(run: PolytheneRun): string {
  expect(run.exitCode, run.stderr).toBe(0);
  return run.stdout.trim();
}

async function firstSubgid(user: string): Promise<number> {
  const line = (await readFile('/etc/subgid', 'utf8'))
    .split('\n')
    .find((entry) => entry.startsWith(`${user}:`));
  return Number(line?.split(':')[1]);
}

describe.skipIf(!isRoot || !hasDebootstrap)(
  'ownership kept by an unprivileged pull (Debian bookworm; root, debootstrap)',
  () => {
    let rootStore: string;
    let rootId: string;
    let userStore: string;
    let userId: string;
    let imageListing: string;

    beforeAll(async () => {
      const image = await ensureDebianImage();
      rootStore = await freshStorePath('polythene-parity-');
      rootId = expectOk(await runPolythene(['pull', image.ref, '--store', rootStore, '--quiet']));
      const user = await ensureTestUser();
      const ref = await ensureDebianImageAs(user.name, testUserEnv(user));
      userStore = removeWhenDone(`/tmp/polythene-parity-user-${process.pid}-${Date.now()}`);
      userId = expectOk(await runPolytheneAs(['pull', ref, '--store', userStore, '--quiet']));
      // The image's own listing, from podman's storage mount (root's podman).
      const mounted = await execa('podman', ['image', 'mount', image.ref]);
      try {
        const found = await execa(
          'sh',
          [
            '-c',
            `cd "$1" && find . -xdev \\( -path ./proc -o -path ./dev \\) -prune -o -printf '%U %G %m %p\\n' | sed 's# \\./# /#' | grep -v ' \\.$' | sort`,
            'sh',
            mounted.stdout.trim(),
          ],
          { env: { LC_ALL: 'C' } },
        );
        imageListing = found.stdout;
      } finally {
        await execa('podman', ['image', 'umount', image.ref], { reject: false });
      }
    }, 900_000);

    const execIn = (asUser: boolean, id: string, script: string) =>
      (asUser ? runPolytheneAs : runPolythene)([
        'exec',
        id,
        '--store',
        asUser ? userStore : rootStore,
        '--env',
        'LC_ALL=C',
        '--',
        'sh',
        '-c',
        script,
      ]);

    it('a fresh box lists the same owners and modes as root, as the user, and as the image', async () => {
      const asRoot = expectOk(await execIn(false, rootId, listingScript));
      const asUser = expectOk(await execIn(true, userId, listingScript));
      expect(asRoot.split('\n').length).toBeGreaterThan(5000);
      expect(asRoot).toContain('\n0 50 2775 /var/local\n');
      expect(asUser).toBe(asRoot);
      expect(asRoot).toBe(imageListing.trim());
    });

    it('the user’s store holds the image’s groups shifted into its subordinate range', async () => {
      const user = await ensureTestUser();
      const subgid = await firstSubgid(user.name);
      const mail = await stat(join(userStore, userId, 'var', 'mail'));
      // In-box root is the user; in-box gid 8 (mail) is the range's 8th id (1 → start).
      expect([mail.uid, mail.gid]).toEqual([user.uid, subgid + 7]);
      const shadow = await stat(join(userStore, userId, 'etc', 'shadow'));
      expect(shadow.gid).toBe(subgid + 41);
      expect(expectOk(await execIn(true, userId, 'stat -c %U:%G /var/mail /etc/shadow'))).toBe(
        'root:mail\nroot:shadow',
      );
    });

    it('as the user: save writes in-box ids and load stores them shifted again', async () => {
      const dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-parity-save-')));
      await chmod(dir, 0o777);
      const archive = join(dir, 'entry.tar');
      expectOk(await runPolytheneAs(['save', userId, '-o', archive, '--store', userStore]));
      const listed = await execa('tar', ['-tvf', archive, '--numeric-owner']);
      expect(listed.stdout).toMatch(/^drwxrwsr-x 0\/8 .* rootfs\/var\/mail\/$/m);
      expect(listed.stdout).toMatch(/^-rw-r----- 0\/42 .* rootfs\/etc\/shadow$/m);
      const otherStore = removeWhenDone(`${userStore}-loaded`);
      const loaded = expectOk(await runPolytheneAs(['load', archive, '--store', otherStore]));
      const run = await runPolytheneAs([
        'exec',
        loaded,
        '--store',
        otherStore,
        '--',
        'stat',
        '-c',
        '%U:%G',
        '/var/mail',
        '/etc/shadow',
      ]);
      expect(expectOk(run)).toBe('root:mail\nroot:shadow');
    });

    it('as the user: copy clones keep owners (files of other ids included); diff, rm and prune work', async () => {
      const cloned = await runPolytheneAs([
        'clone',
        userId,
        '--store',
        userStore,
        '--method',
        'copy',
      ]);
      const cloneId = expectOk(cloned);
      expect(
        expectOk(
          await execIn(
            true,
            cloneId,
            'stat -c %U:%G /var/mail /etc/shadow && useradd -r svc && install -d -o svc -m 700 /srv/locked && touch /srv/locked/f && chgrp mail /etc/hostname',
          ),
        ),
      ).toBe('root:mail\nroot:shadow');
      // A copy of the copy: files of svc (unreadable to the user on the host) are copied too.
      const again = expectOk(
        await runPolytheneAs(['clone', cloneId, '--store', userStore, '--method', 'copy']),
      );
      expect(
        expectOk(
          await execIn(true, again, 'stat -c %U:%G /srv/locked /srv/locked/f /etc/hostname'),
        ),
      ).toBe('svc:root\nroot:root\nroot:mail');
      const diff = expectOk(await runPolytheneAs(['diff', cloneId, '--store', userStore]));
      expect(diff.split('\n')).toContain('M /etc/hostname');
      expect(diff.split('\n')).toContain('A /srv/locked');
      for (const id of [again, cloneId]) {
        expectOk(await runPolytheneAs(['rm', id, '--store', userStore]));
      }
      const ids = async () =>
        (
          JSON.parse(expectOk(await runPolytheneAs(['list', '--store', userStore, '--json']))) as {
            id: string;
          }[]
        ).map((entry) => entry.id);
      expect(await ids()).toEqual([userId]);
      expectOk(await runPolytheneAs(['prune', '--older-than', '0s', '--store', userStore]));
      expect(await ids()).toEqual([]);
    });
  },
);
