// Root in the box is root (issue 15): real Debian packages install on the default backend,
// as root and as an unprivileged user with a subordinate id range.
import { chmod, copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DebCache,
  ensureDebCache,
  ensureDebianImage,
  ensureDebianImageAs,
  ensureTestImages,
  ensureTestUser,
  ensureUserWithoutIdRange,
  runAsUserWithoutIdRange,
  testUserEnv,
} from '@polythene/test-images';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  POLYTHENE_BIN,
  type PolytheneRun,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

const isRoot = process.getuid?.() === 0;
const hasDebootstrap =
  (await execa('debootstrap', ['--version'], { reject: false })).exitCode === 0;
const packages = ['hello', 'cron', 'openssh-server', 'sudo', 'iputils-ping'];

// Installs the packages from /debs with apt (no APT::Sandbox override: apt drops to _apt),
// then exercises what they installed as in-box root.
const installScript = `set -e
export DEBIAN_FRONTEND=noninteractive
cd /debs
apt-get install -y -q ./*.deb >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log >&2; exit 3; }
hello
sudo -u nobody id -un
mkdir -p /run/sshd && /usr/sbin/sshd -t && echo sshd-ok
stat -c '%U:%G %A' /usr/bin/crontab /usr/bin/sudo
getent group crontab >/dev/null && echo crontab-group
id sshd >/dev/null && echo sshd-user
ping -c1 -W5 127.0.0.1 >/dev/null && echo ping-ok
`;

// A non-root --user, as in a container: every in-box owner as it is, no capability, and
// in-box root's files out of its reach.
const nonRootScript = `id -u
stat -c '%U:%G' /var/local /etc/shadow
echo x >> /etc/passwd 2>/dev/null && echo wrote-passwd
grep -E '^Cap(Eff|Prm):' /proc/self/status
echo done`;

function expectNonRoot(run: PolytheneRun): void {
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^1000\nroot:staff\nroot:shadow\nCapPrm:\s+0+\nCapEff:\s+0+\ndone$/m);
  expect(run.stdout).not.toContain('wrote-passwd');
}

// User commands as in a container.
const usersScript = `set -e
useradd -r -m -d /var/lib/svc svc
groupadd app
echo 'svc:s3cret' | chpasswd
install -d -o svc -g app -m 0750 /srv/app
touch /srv/file && chown svc /srv/file && chgrp app /srv/file
setpriv --reuid=svc --regid=app --clear-groups sh -c 'touch /srv/app/by-svc'
runuser -u svc -- id -un
stat -c '%U:%G %a %n' /var/lib/svc /srv/app /srv/file /srv/app/by-svc
stat -c '%U:%G' /var/local /var/mail
`;

function expectUsers(run: PolytheneRun, ownersKept: boolean): void {
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.stdout).toContain('svc\n');
  expect(run.stdout).toContain('svc:svc 755 /var/lib/svc');
  expect(run.stdout).toContain('svc:app 750 /srv/app');
  expect(run.stdout).toContain('svc:app 644 /srv/file');
  expect(run.stdout).toContain('svc:app 644 /srv/app/by-svc');
  // The image's owners: kept by root's pull, and by an unprivileged one (shifted into the
  // user's subordinate range on the host). The user's runs lose the final newline.
  if (ownersKept) expect(run.stdout).toMatch(/^root:staff\nroot:mail$/m);
}

function expectInstalled(run: PolytheneRun): void {
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.stdout).toContain('Hello, world!\n');
  expect(run.stdout).toContain('nobody\n');
  expect(run.stdout).toContain('sshd-ok\n');
  expect(run.stdout).toMatch(/^root:crontab -rwxr-sr-x$/m);
  expect(run.stdout).toMatch(/^root:root -rwsr-xr-x$/m);
  expect(run.stdout).toMatch(/^crontab-group\nsshd-user$/m);
  // iputils' ping without CAP_NET_RAW (no_new_privs ignores its file capability): the box's
  // own network namespace lets group 0 ping, as podman sets it.
  expect(run.stdout).toMatch(/^ping-ok$/m);
}

// The debs in a directory every test user can read (root's fixture cache is 0700).
async function shareDebs(debs: DebCache): Promise<string> {
  const dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-debs-')));
  await chmod(dir, 0o755);
  for (const name of debs.files) {
    await copyFile(join(debs.dir, name), join(dir, name));
    await chmod(join(dir, name), 0o644);
  }
  return dir;
}

describe.skipIf(!isRoot || !hasDebootstrap)(
  'root in the box on bwrap (Debian bookworm, real packages; root, debootstrap)',
  () => {
    let debDir: string;
    let rootStore: string;
    let rootId: string;

    beforeAll(async () => {
      const image = await ensureDebianImage();
      debDir = await shareDebs(await ensureDebCache(packages));
      rootStore = await freshStorePath('polythene-root-in-box-');
      const pulled = await runPolythene(['pull', image.ref, '--store', rootStore, '--quiet']);
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      rootId = pulled.stdout.trim();
    }, 900_000);

    const execRoot = (script: string, extra: string[] = []) =>
      runPolythene([
        'exec',
        rootId,
        '--store',
        rootStore,
        '--ephemeral',
        '--bind',
        `${debDir}:/debs:ro`,
        ...extra,
        '--',
        'sh',
        '-c',
        script,
      ]);

    it('as root: in-box root holds the container capability set in its own user namespace', async () => {
      const run = await execRoot(
        'grep -E "^(CapEff|NoNewPrivs):" /proc/self/status; cat /proc/self/uid_map',
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^CapEff:\s+00000000800405fb$/m);
      expect(run.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(run.stdout).toMatch(/^\s+0\s+0\s+65536$/m);
      expect(run.stderr).not.toContain('warning');
    });

    it('as root: --cap-add and --cap-drop change the set as podman spells them', async () => {
      const run = await execRoot('grep "^CapEff:" /proc/self/status', [
        '--cap-drop',
        'ALL',
        '--cap-add',
        'chown',
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^CapEff:\s+0000000000000001$/m);
    });

    it('as root on chroot: the container set but CAP_SYS_CHROOT, ping for group 0; escapes refused (125)', async () => {
      const chroot = ['--isolation', 'chroot'];
      const run = await execRoot(
        'grep "^CapEff:" /proc/self/status; cat /proc/sys/net/ipv4/ping_group_range',
        chroot,
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^CapEff:\s+00000000800005fb$/m);
      // Group 0 pings without CAP_NET_RAW in the box's own network namespace, as in podman.
      expect(run.stdout).toMatch(/^0\s+0$/m);
      const withRaw = await execRoot('grep "^CapEff:" /proc/self/status', [
        ...chroot,
        '--cap-add',
        'NET_RAW',
      ]);
      expect(withRaw.stdout).toMatch(/^CapEff:\s+00000000800025fb$/m);
      const refused = await execRoot('true', [...chroot, '--cap-add', 'SYS_ADMIN']);
      expect(refused.exitCode).toBe(125);
      expect(refused.stderr).toMatch(/chroot cannot give CAP_SYS_ADMIN/);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    });

    it('as root: a non-root --user sees every owner, holds no capability, cannot write root files', async () => {
      expectNonRoot(await execRoot(nonRootScript, ['--user', '1000:1000']));
    });

    it('as root: useradd, chpasswd, chown, chgrp, install -o, setpriv and runuser work', async () => {
      expectUsers(await execRoot(usersScript), true);
    });

    it('as root: apt-get install ./*.deb of hello, cron, openssh-server, sudo, iputils-ping', async () => {
      expectInstalled(await execRoot(installScript));
    });

    it('as root: dpkg -i of cron adds its group and keeps the setgid bit', async () => {
      const run = await execRoot(
        // cron pre-depends on a configured cron-daemon-common: two dpkg runs, as apt orders them.
        'dpkg -i /debs/cron-daemon-common_*.deb /debs/sensible-utils_*.deb >/tmp/dpkg.log 2>&1 && dpkg -i /debs/cron_*.deb >>/tmp/dpkg.log 2>&1 || { tail /tmp/dpkg.log >&2; exit 3; }; stat -c "%G %A" /usr/bin/crontab',
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toContain('crontab -rwxr-sr-x');
    });

    it('as root: in-box root cannot mount, read a device it made, or write /proc/sys or sysrq', async () => {
      const run = await execRoot(
        [
          'mkdir -p /mnt/t; mount -t tmpfs none /mnt/t 2>/dev/null && echo mounted',
          'echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo sysctl-written',
          'echo h > /proc/sysrq-trigger 2>/dev/null && echo sysrq-written',
          'mknod /tmp/sda b 8 0 2>/dev/null && head -c1 /tmp/sda >/dev/null 2>&1 && echo device-read',
          'echo done',
        ].join('; '),
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toBe('done\n');
    });

    describe('as the unprivileged test user (subordinate ids through newuidmap)', () => {
      let userStore: string;
      let userId: string;

      beforeAll(async () => {
        const user = await ensureTestUser();
        const ref = await ensureDebianImageAs(user.name, testUserEnv(user));
        userStore = removeWhenDone(`/tmp/polythene-root-in-box-user-${process.pid}-${Date.now()}`);
        const pulled = await runPolytheneAs(['pull', ref, '--store', userStore, '--quiet']);
        expect(pulled.exitCode, pulled.stderr).toBe(0);
        userId = pulled.stdout.trim();
      }, 900_000);

      const execUser = (script: string, extra: string[] = []) =>
        runPolytheneAs([
          'exec',
          userId,
          '--store',
          userStore,
          '--ephemeral',
          '--bind',
          `${debDir}:/debs:ro`,
          ...extra,
          '--',
          'sh',
          '-c',
          script,
        ]);

      it('maps 0 to the user and 1–65535 to its range, with the container capability set', async () => {
        const run = await execUser(
          'cat /proc/self/uid_map /proc/self/gid_map; grep "^CapEff:" /proc/self/status',
        );
        expect(run.exitCode, run.stderr).toBe(0);
        const { uid, gid } = await ensureTestUser();
        expect(run.stdout).toMatch(new RegExp(`^\\s+0\\s+${uid}\\s+1\\n\\s+1\\s+\\d+\\s+65535\\n`));
        expect(run.stdout).toMatch(new RegExp(`\\s+0\\s+${gid}\\s+1\\n\\s+1\\s+\\d+\\s+65535\\n`));
        expect(run.stdout).toMatch(/^CapEff:\s+00000000800405fb$/m);
        expect(run.stderr).not.toContain('warning');
      });

      it('a non-root --user sees every owner, holds no capability, cannot write root files', async () => {
        expectNonRoot(await execUser(nonRootScript, ['--user', '1000:1000']));
      });

      it('useradd, chpasswd, chown, chgrp, install -o, setpriv and runuser work', async () => {
        expectUsers(await execUser(usersScript), true);
      });

      it('apt-get install ./*.deb of hello, cron, openssh-server, sudo, iputils-ping', async () => {
        expectInstalled(await execUser(installScript));
      });

      it('removes an entry holding files of subordinate ids (polythene rm)', async () => {
        const cloned = await runPolytheneAs(['clone', userId, '--store', userStore]);
        expect(cloned.exitCode, cloned.stderr).toBe(0);
        const cloneId = cloned.stdout.trim();
        const made = await runPolytheneAs([
          'exec',
          cloneId,
          '--store',
          userStore,
          '--',
          'sh',
          '-c',
          'useradd -r svc && mkdir -p /srv/locked/deep && touch /srv/locked/deep/f && chown -R svc /srv/locked && chmod 700 /srv/locked',
        ]);
        expect(made.exitCode, made.stderr).toBe(0);
        const removed = await runPolytheneAs(['rm', cloneId, '--store', userStore]);
        expect(removed.exitCode, removed.stderr).toBe(0);
        const listed = await runPolytheneAs(['list', '--store', userStore]);
        expect(listed.stdout).not.toContain(cloneId);
      });
    });

    describe('as a user without a subordinate range', () => {
      it('warns that ids is lost, naming the fix, and --strict refuses with 125', async () => {
        const user = await ensureUserWithoutIdRange();
        const images = await ensureTestImages();
        const store = await freshStorePath('polythene-norange-');
        const pulled = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
        expect(pulled.exitCode, pulled.stderr).toBe(0);
        const id = pulled.stdout.trim();
        await execa('chown', ['-R', `${user.uid}:${user.gid}`, join(store, '..')]);
        const run = await runAsUserWithoutIdRange([
          process.execPath,
          POLYTHENE_BIN,
          'exec',
          id,
          '--store',
          store,
          '--',
          'id',
          '-u',
        ]);
        expect(run.exitCode, run.stderr).toBe(0);
        expect(run.stdout.trim()).toBe('0');
        expect(run.stderr).toMatch(/^polythene: warning: bwrap runs without ids isolation/m);
        // The warning line itself names the fix.
        expect(run.stderr).toMatch(
          /; for ids: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 polythene-norange$/m,
        );
        // `polythene backends` names the fix.
        const backends = await runAsUserWithoutIdRange([
          process.execPath,
          POLYTHENE_BIN,
          'backends',
          '--json',
        ]);
        expect(backends.stdout).toContain(
          'usermod --add-subuids 100000-165535 --add-subgids 100000-165535 polythene-norange',
        );
        const strict = await runAsUserWithoutIdRange([
          process.execPath,
          POLYTHENE_BIN,
          'exec',
          id,
          '--store',
          store,
          '--strict',
          '--',
          'id',
          '-u',
        ]);
        expect(strict.exitCode).toBe(125);
        expect(strict.stderr).toMatch(/--strict refuses bwrap: it cannot enforce ids \(/);
        expect(strict.stderr).toContain('usermod --add-subuids');
      });
    });
  },
);
