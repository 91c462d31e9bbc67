import { randomInt } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { basename, join } from 'node:path';
import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  runAsTestUser,
  testUserEnv,
} from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAllGone,
  freePort,
  startTestNetns,
  type TestNetns,
  waitForAnswer,
  waitForTree,
} from './network-helpers.ts';
import {
  freshStorePath,
  POLYTHENE_BIN,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
  startPolythene,
} from './run-polythene.ts';

let store: string;
let id: string;
let hostServer: Server;
let hostPort: number;
let testNetns: TestNetns;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath();
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
  // The image's own resolv.conf: `private` shadows it with a copy made for the run.
  const own = await runPolythene([
    'exec',
    id,
    '--store',
    store,
    '--',
    'sh',
    '-c',
    'echo nameserver 192.0.2.53 > /etc/resolv.conf',
  ]);
  expect(own.exitCode, own.stderr).toBe(0);
  hostServer = createServer((_request, response) => response.end('host-loopback\n'));
  hostPort = await new Promise<number>((resolve) => {
    hostServer.listen(0, '127.0.0.1', () => {
      const address = hostServer.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
  testNetns = await startTestNetns('in-test-netns');
});

afterAll(async () => {
  await new Promise((resolve) => hostServer?.close(resolve));
  await testNetns?.remove();
});

// busybox's wget, without -T (which crashes busybox 1.35): the box's `timeout` bounds it.
const fetchIn = (url: string): string => `timeout 10 wget -q -O- ${url}`;

const httpd =
  'mkdir -p /tmp/www && echo from-the-box > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www';

describe('--network private on chroot', () => {
  it('reaches a server beyond the host through slirp4netns, but not the host loopback', async () => {
    for (const extra of [[], ['--ephemeral']]) {
      const run = await runPolythene([
        'exec',
        id,
        '--store',
        store,
        '--isolation',
        'chroot',
        '--network',
        'private',
        ...extra,
        '--json',
        '--',
        'sh',
        '-c',
        `${fetchIn(`http://${testNetns.address}:${testNetns.port}/`)}; echo; ${fetchIn(`http://10.0.2.2:${hostPort}/`)} || echo LOOPBACK-CUT; cat /etc/resolv.conf; ip -o -4 addr show tap0 | grep -o 10.0.2.100`,
      ]);
      const result = JSON.parse(run.stdout);
      expect(result.stdout, result.stderr).toBe(
        'in-test-netns\n\nLOOPBACK-CUT\nnameserver 10.0.2.3\n10.0.2.100\n',
      );
      expect(result.backend).toBe('chroot');
      expect(result.network).toBe('private');
    }
  });

  it('publishes a box port on the host loopback, bound by a user other than root', async () => {
    const port = await freePort();
    const box = startPolythene([
      'exec',
      id,
      '--store',
      store,
      '--isolation',
      'chroot',
      '--network',
      'private',
      '-p',
      `${port}:80`,
      '--user',
      '65534:65534',
      '--timeout',
      '30',
      '--',
      'sh',
      '-c',
      httpd,
    ]);
    expect(await waitForAnswer(port, 'from-the-box')).toBe('from-the-box');
    box.kill('SIGTERM');
    expect((await box).exitCode).not.toBe(125);
  });
});

describe('--network private leaves nothing behind after a SIGKILL of polythene', () => {
  for (const backend of ['bwrap', 'chroot']) {
    it(`${backend}: no process, and no temporary directory once the next run has started`, async () => {
      const tmp = removeWhenDone(`/tmp/polythene-nt-tmp-${process.pid}-${randomInt(1e6)}`);
      await mkdir(tmp, { mode: 0o700 });
      const env = { TMPDIR: tmp };
      const port = await freePort();
      const killed = startPolythene(
        [
          'exec',
          id,
          '--store',
          store,
          '--isolation',
          backend,
          '--network',
          'private',
          '--publish',
          `${port}:80`,
          '--',
          'sh',
          '-c',
          `(${httpd}) & sleep 60`,
        ],
        { env },
      );
      const tree = await waitForTree(killed.pid ?? 0);
      expect(await waitForAnswer(port, 'from-the-box')).toBe('from-the-box');
      // While it runs, only the box's resolv.conf copy is there, in this user's runs directory
      // (the FIFO and slirp4netns's API socket went as soon as they were used).
      const runs = join(tmp, `polythene-runs-${process.geteuid?.()}`);
      expect(await readdir(tmp)).toEqual([basename(runs)]);
      expect(await readdir(runs)).toEqual([
        expect.stringMatching(new RegExp(`^polythene-network-${killed.pid}-\\w{6}$`)),
      ]);
      killed.kill('SIGKILL');
      await killed;
      await expectAllGone(tree);
      // The next network run removes what the killed one left.
      const next = await runPolythene(
        [
          'exec',
          id,
          '--store',
          store,
          '--isolation',
          backend,
          '--network',
          'private',
          '--',
          'true',
        ],
        { env },
      );
      expect(next.exitCode, next.stderr).toBe(0);
      expect(await readdir(runs)).toEqual([]);
    });
  }
});

describe('--network private as an unprivileged user', () => {
  it('with a /dev/net/tun of mode 0600, is refused before the box starts: 125, one line saying why', async () => {
    const user = await ensureTestUser();
    const images = await ensureTestImagesAs(user);
    const userStore = removeWhenDone(`/tmp/polythene-nt-tun-${process.pid}-${randomInt(1e6)}`);
    const pulled = await runPolytheneAs(['pull', images.busybox, '--store', userStore, '--quiet']);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const userId = pulled.stdout.trim();
    // A 0600 tun device over the host's, in a mount namespace of this test's own only.
    const device = removeWhenDone(`/tmp/polythene-nt-tundev-${process.pid}-${randomInt(1e6)}`);
    await mkdir(device);
    const script = [
      `mknod ${device}/tun c 10 200`,
      `chmod 0600 ${device}/tun`,
      `mount --bind ${device}/tun /dev/net/tun`,
      `exec runuser -u ${user.name} -- "$@"`,
    ].join(' && ');
    const run = await execa(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        script,
        'sh',
        process.execPath,
        POLYTHENE_BIN,
        'exec',
        userId,
        '--store',
        userStore,
        '--network',
        'private',
        '--',
        'true',
      ],
      { env: testUserEnv(user), extendEnv: false, cwd: user.home, reject: false },
    );
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toMatch(
      /^polythene: bwrap: --network private: \/dev\/net\/tun \(mode 0600\) cannot be opened by this user/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    // The same user, with the host's device, gets its network.
    const ok = await runAsTestUser(
      [
        process.execPath,
        POLYTHENE_BIN,
        'exec',
        userId,
        '--store',
        userStore,
        '--network',
        'private',
        '--',
        'true',
      ],
      { reject: false },
    );
    expect(ok.exitCode, ok.stderr).toBe(0);
  });
});
