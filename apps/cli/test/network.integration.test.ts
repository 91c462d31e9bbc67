import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, readdir, readFile, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureDebianImage,
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  testUserEnv,
} from '@polythene/test-images';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAllGone, freePort, waitFor, waitForAnswer, waitForTree } from './network-helpers.ts';
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

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath();
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
  // A service on the host's loopback, as the loopback package repository is.
  hostServer = createServer((_request, response) => response.end('host-loopback\n'));
  hostPort = await listen(hostServer);
});

afterAll(async () => {
  await new Promise((resolve) => hostServer?.close(resolve));
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

// busybox's wget, without -T (which crashes busybox 1.35): the box's `timeout` bounds it.
const fetchIn = (url: string): string => `timeout 10 wget -q -O- ${url}`;

function execIn(args: string[], command: string, env?: Record<string, string>) {
  return runPolythene(['exec', id, '--store', store, ...args, '--', 'sh', '-c', command], {
    env,
  });
}

describe('--network none (the default)', () => {
  it('cuts the box off: the host loopback service is not reachable, and fails fast', async () => {
    const startedAt = Date.now();
    const run = await execIn(['--json'], fetchIn(`http://127.0.0.1:${hostPort}/`));
    const result = JSON.parse(run.stdout);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/refused|unreachable/i);
    expect(result.network).toBe('none');
    expect(result.guarantees).toContain('network');
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });
});

describe('--network host', () => {
  it('reaches the host loopback and sees the host resolv.conf and hosts, read-only, for that run only', async () => {
    // The image's own resolv.conf, written into the entry beforehand.
    const own = await execIn([], 'echo "nameserver 192.0.2.53" > /etc/resolv.conf');
    expect(own.exitCode, own.stderr).toBe(0);
    const run = await execIn(
      ['--network', 'host', '--json'],
      `${fetchIn(`http://127.0.0.1:${hostPort}/`)} && cat /etc/resolv.conf && echo --- && cat /etc/hosts && (echo x >> /etc/resolv.conf && echo WRITABLE || true)`,
    );
    const result = JSON.parse(run.stdout);
    expect(result.exitCode, result.stderr).toBe(0);
    const [fetched, files] = splitOnce(result.stdout, 'host-loopback\n');
    expect(fetched).toBe('');
    const [resolv, hosts] = splitOnce(files, '---\n');
    expect(resolv).toBe(await readFile('/etc/resolv.conf', 'utf8'));
    expect(hosts).toBe(await readFile('/etc/hosts', 'utf8'));
    expect(result.stdout).not.toContain('WRITABLE');
    expect(result.network).toBe('host');
    expect(result.guarantees).not.toContain('network');
    // The entry keeps its own file.
    const after = await execIn([], 'cat /etc/resolv.conf');
    expect(after.stdout).toBe('nameserver 192.0.2.53\n');
  });

  it('is taken from POLYTHENE_NETWORK, and the flag wins', async () => {
    const fromEnv = await execIn(['--json'], 'true', { POLYTHENE_NETWORK: 'host' });
    expect(JSON.parse(fromEnv.stdout).network).toBe('host');
    const flagWins = await execIn(['--network', 'none', '--json'], 'true', {
      POLYTHENE_NETWORK: 'host',
    });
    expect(JSON.parse(flagWins.stdout).network).toBe('none');
  });

  it('works on chroot and proot too, and proot without a lost-network warning', async () => {
    for (const backend of ['chroot', 'proot']) {
      const run = await execIn(
        ['--network', 'host', '--isolation', backend, '--json'],
        fetchIn(`http://127.0.0.1:${hostPort}/`),
      );
      const result = JSON.parse(run.stdout);
      expect(result.backend).toBe(backend);
      expect(result.stdout, result.stderr).toBe('host-loopback\n');
      expect(result.network).toBe('host');
      expect(run.stderr).not.toMatch(/without network/);
    }
  });
});

describe('--network private', () => {
  const netns = `polythene-nt-${process.pid}-${randomInt(1e6)}`;
  const hostVeth = `pnh${randomInt(1e6)}`;
  const nsVeth = `pnb${randomInt(1e6)}`;
  // A /30 the test owns, away from slirp4netns's 10.0.2.0/24.
  const subnet = `10.213.${randomInt(256)}.${randomInt(64) * 4}`;
  const [a, b, c, d] = subnet.split('.').map(Number) as [number, number, number, number];
  const hostAddress = `${a}.${b}.${c}.${d + 1}`;
  const nsAddress = `${a}.${b}.${c}.${d + 2}`;
  const nsPort = 8080;
  let nsServer: ResultPromise | undefined;

  beforeAll(async () => {
    await execa('ip', ['netns', 'add', netns]);
    await execa('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nsVeth]);
    await execa('ip', ['link', 'set', nsVeth, 'netns', netns]);
    await execa('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostVeth]);
    await execa('ip', ['link', 'set', hostVeth, 'up']);
    await execa('ip', [
      'netns',
      'exec',
      netns,
      'ip',
      'addr',
      'add',
      `${nsAddress}/30`,
      'dev',
      nsVeth,
    ]);
    await execa('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', nsVeth, 'up']);
    await execa('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
    const root = removeWhenDone(`/tmp/polythene-nt-www-${process.pid}-${randomInt(1e6)}`);
    await execa('sh', ['-c', `mkdir -p ${root} && echo in-test-netns > ${root}/index.html`]);
    nsServer = execa('ip', [
      'netns',
      'exec',
      netns,
      'busybox',
      'httpd',
      '-f',
      '-p',
      `${nsAddress}:${nsPort}`,
      '-h',
      root,
    ]);
    nsServer.catch(() => undefined);
    await waitFor(async () => {
      const probe = await execa(
        'busybox',
        ['wget', '-q', '-O-', `http://${nsAddress}:${nsPort}/`],
        {
          reject: false,
        },
      );
      return probe.stdout === 'in-test-netns';
    });
  });

  afterAll(async () => {
    nsServer?.kill('SIGKILL');
    await execa('ip', ['netns', 'del', netns], { reject: false });
    await execa('ip', ['link', 'del', hostVeth], { reject: false });
  });

  it('reaches a server beyond the host through slirp4netns, but not the host loopback', async () => {
    const run = await execIn(
      ['--network', 'private', '--ephemeral', '--json'],
      `${fetchIn(`http://${nsAddress}:${nsPort}/`)}; echo; ${fetchIn(`http://10.0.2.2:${hostPort}/`)} || echo LOOPBACK-CUT; cat /etc/resolv.conf`,
    );
    const result = JSON.parse(run.stdout);
    expect(result.stdout, result.stderr).toBe(
      'in-test-netns\n\nLOOPBACK-CUT\nnameserver 10.0.2.3\n',
    );
    expect(result.network).toBe('private');
    // And `none` cannot reach that server at all.
    const none = await execIn([], fetchIn(`http://${nsAddress}:${nsPort}/`));
    expect(none.exitCode).not.toBe(0);
  });

  it('publishes a box port on the host loopback, every one of --publish and -p mixed', async () => {
    for (const [first, second] of [
      ['--publish', '-p'],
      ['-p', '--publish'],
    ] as const) {
      const ports = [await freePort(), await freePort()] as const;
      const box = startPolythene([
        ...['exec', id, '--store', store, '--network', 'private'],
        ...[first, `${ports[0]}:80`, second, `${ports[1]}:81`, '--timeout', '30', '--'],
        'sh',
        '-c',
        'mkdir -p /tmp/www && echo from-the-box > /tmp/www/index.html && httpd -p 80 -h /tmp/www && exec httpd -f -p 81 -h /tmp/www',
      ]);
      for (const port of ports) {
        expect(await waitForAnswer(port, 'from-the-box'), `${first} ${second}: ${port}`).toBe(
          'from-the-box',
        );
      }
      box.kill('SIGTERM');
      const ended = await box;
      expect(ended.exitCode).not.toBe(125);
    }
  });

  it('start publishes every one of --publish and -p mixed, for the live box', async () => {
    const ports = [await freePort(), await freePort()] as const;
    const started = await runPolythene([
      ...['start', id, '--store', store, '--network', 'private'],
      ...['-p', `${ports[0]}:80`, '--publish', `${ports[1]}:81`],
    ]);
    expect(started.exitCode, started.stderr).toBe(0);
    const box = started.stdout.trim();
    try {
      for (const boxPort of ['80', '81']) {
        const detach = await runPolythene([
          ...['exec', '--in', box, '--detach', '--store', store, '--', 'sh', '-c'],
          `mkdir -p /tmp/www && echo from-the-box > /tmp/www/index.html && exec httpd -f -p ${boxPort} -h /tmp/www`,
        ]);
        expect(detach.exitCode, detach.stderr).toBe(0);
      }
      for (const port of ports) {
        expect(await waitForAnswer(port, 'from-the-box'), String(port)).toBe('from-the-box');
      }
    } finally {
      await runPolythene(['stop', box, '--store', store]);
    }
  });

  describe('--publish HOST_PORT:BOX_PORT/udp', () => {
    let debianId: string;
    // A UDP server in the Debian image's perl-base (busybox's nc has no -u): it prints each
    // datagram and answers it.
    const udpServer = [
      'perl',
      '-MIO::Socket::INET',
      '-e',
      '$| = 1; my $s = IO::Socket::INET->new(LocalPort => 53, Proto => "udp") or die "$!"; while (defined $s->recv(my $m, 512)) { print "got $m\\n"; $s->send("from-the-box:$m") }',
    ];

    beforeAll(async () => {
      const pulled = await runPolythene([
        ...['pull', (await ensureDebianImage()).ref, '--store', store, '--quiet'],
      ]);
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      debianId = pulled.stdout.trim();
    }, 600_000);

    const startUdpBox = (port: number) =>
      startPolythene([
        ...['exec', debianId, '--store', store, '--network', 'private'],
        ...['--publish', `${port}:53/udp`, '--timeout', '15', '--', ...udpServer],
      ]);

    it("forwards a datagram sent to the host's 127.0.0.1:HOST_PORT to the box's port", async () => {
      const port = await freePort();
      const box = startUdpBox(port);
      const client = createSocket('udp4');
      let output = '';
      box.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      try {
        await waitFor(async () => {
          client.send('ping', port, '127.0.0.1');
          await new Promise((resolve) => setTimeout(resolve, 200));
          return output.includes('got ping');
        });
      } finally {
        client.close();
        box.kill('SIGTERM');
        await box;
      }
      expect(output).toContain('got ping\n');
    });

    // Known bug: the box's answer never reaches the host. slirp4netns sees the datagram as
    // coming from 10.0.2.2 (the host's loopback, seen from the box), and with
    // --disable-host-loopback it drops the box's answer to that address. Remove `.fails` once
    // UDP publishing answers (e.g. a forwarder with a socket in each namespace).
    it.fails("answers back to the host's client", async () => {
      const port = await freePort();
      const box = startUdpBox(port);
      const client = createSocket('udp4');
      let answer = '';
      client.on('message', (message) => {
        answer = message.toString();
      });
      try {
        await waitFor(async () => {
          client.send('ping', port, '127.0.0.1');
          await new Promise((resolve) => setTimeout(resolve, 200));
          return answer !== '';
        }, 8_000);
      } finally {
        client.close();
        box.kill('SIGTERM');
        await box;
      }
      expect(answer).toBe('from-the-box:ping');
    });
  });

  it('leaves nothing running after a timeout, Ctrl-C or a SIGKILL of polythene', async () => {
    const timedOut = startPolythene([
      'exec',
      id,
      '--store',
      store,
      '--network',
      'private',
      '--timeout',
      '2',
      '--',
      'sleep',
      '60',
    ]);
    const timedOutTree = await waitForTree(timedOut.pid ?? 0);
    expect((await timedOut).exitCode).toBe(124);
    await expectAllGone(timedOutTree);

    const interrupted = startPolythene([
      'exec',
      id,
      '--store',
      store,
      '--network',
      'private',
      '--',
      'sleep',
      '60',
    ]);
    const interruptedTree = await waitForTree(interrupted.pid ?? 0);
    interrupted.kill('SIGINT');
    expect((await interrupted).exitCode).toBe(130);
    await expectAllGone(interruptedTree);

    const killed = startPolythene([
      'exec',
      id,
      '--store',
      store,
      '--network',
      'private',
      '--',
      'sleep',
      '60',
    ]);
    const killedTree = await waitForTree(killed.pid ?? 0);
    killed.kill('SIGKILL');
    await killed;
    await expectAllGone(killedTree);
  });

  it('refuses a busy host port with 125, one line naming the port', async () => {
    const busy = createTcpServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const address = busy.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const run = await execIn(['--network', 'private', '--publish', `${port}:80`], 'true');
      expect(run.exitCode).toBe(125);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`host port ${port}`);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('is refused by proot, which makes no namespace (125, one line saying why)', async () => {
    const run = await execIn(['--network', 'private', '--isolation', 'proot'], 'true');
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toMatch(/^polythene: --network private: proot makes no namespace/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('works as the unprivileged user, publishing and reaching the test namespace', async () => {
    const user = await ensureTestUser();
    const images = await ensureTestImagesAs(user);
    const userStore = removeWhenDone(`/tmp/polythene-nt-user-${process.pid}-${randomInt(1e6)}`);
    const pulled = await runPolytheneAs(['pull', images.busybox, '--store', userStore, '--quiet']);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const userId = pulled.stdout.trim();
    // The image's own resolv.conf, which private shadows with slirp4netns's resolver.
    const own = await runPolytheneAs([
      ...['exec', userId, '--store', userStore, '--', 'sh', '-c'],
      'echo "nameserver 192.0.2.53" > /etc/resolv.conf',
    ]);
    expect(own.exitCode, own.stderr).toBe(0);
    const run = await runPolytheneAs([
      'exec',
      userId,
      '--store',
      userStore,
      '--network',
      'private',
      // On a throwaway overlay: mounted in the user namespace slirp4netns joins.
      '--ephemeral',
      '--json',
      '--',
      'sh',
      '-c',
      `id -u; ${fetchIn(`http://${nsAddress}:${nsPort}/`)}; echo; ${fetchIn(`http://10.0.2.2:${hostPort}/`)} || echo LOOPBACK-CUT; cat /etc/resolv.conf`,
    ]);
    const result = JSON.parse(run.stdout);
    expect(result.stdout, result.stderr).toBe(
      '0\nin-test-netns\n\nLOOPBACK-CUT\nnameserver 10.0.2.3\n',
    );
    expect(result.backend).toBe('bwrap');
    const port = await freePort();
    const box = runPolytheneAs([
      'exec',
      userId,
      '--store',
      userStore,
      '--network',
      'private',
      '--publish',
      `${port}:80`,
      '--timeout',
      '8',
      '--',
      'sh',
      '-c',
      'mkdir -p /tmp/www && echo unprivileged-box > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www',
    ]);
    let answer = '';
    await waitFor(async () => {
      const probe = await execa('curl', ['-s', '--max-time', '2', `http://127.0.0.1:${port}/`], {
        reject: false,
      });
      answer = probe.stdout;
      return answer === 'unprivileged-box';
    });
    expect(answer).toBe('unprivileged-box');
    expect((await box).exitCode).toBe(124);
    const host = await runPolytheneAs([
      'exec',
      userId,
      '--store',
      userStore,
      '--network',
      'host',
      '--',
      'sh',
      '-c',
      fetchIn(`http://127.0.0.1:${hostPort}/`),
    ]);
    expect(host.stdout, host.stderr).toBe('host-loopback');
    const privileged = await runPolytheneAs([
      'exec',
      userId,
      '--store',
      userStore,
      '--network',
      'private',
      '--publish',
      '80:80',
      '--',
      'true',
    ]);
    expect(privileged.exitCode).toBe(2);
    expect(privileged.stderr).toMatch(
      /^polythene: --publish 80:80: host ports below 1024 need root/,
    );
  });
});

describe('bad network input', () => {
  it('is a usage error (2) naming the valid forms', async () => {
    const cases: [string[], RegExp][] = [
      [['--network', 'bridge'], /unknown network mode; use none, host or private/],
      [['--network', 'private', '--publish', '80'], /expected HOST_PORT:BOX_PORT\[\/tcp\|udp\]/],
      [['--network', 'private', '--publish', '8080:80/sctp'], /expected HOST_PORT:BOX_PORT/],
      [['--publish', '8080:80'], /--publish needs --network private \(the network mode is none\)/],
      [['--network', 'host', '-p', '8080:80'], /the network mode is host/],
    ];
    for (const [args, message] of cases) {
      const run = await execIn(args, 'true');
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    const fromEnv = await execIn([], 'true', { POLYTHENE_NETWORK: 'slirp' });
    expect(fromEnv.exitCode).toBe(2);
    expect(fromEnv.stderr).toMatch(/POLYTHENE_NETWORK "slirp"/);
  });

  it('polythene backends shows the modes each backend gives', async () => {
    const run = await runPolythene(['backends', '--json']);
    expect(networkModesOf(run.stdout)).toMatchObject({
      bwrap: ['none', 'host', 'private'],
      proot: ['none', 'host'],
      chroot: ['none', 'host', 'private'],
    });
    const table = await runPolythene(['backends']);
    expect(networkColumnOf(table.stdout)).toMatchObject({
      bwrap: 'none,host,private',
      proot: 'none,host',
      chroot: 'none,host,private',
    });
    expect(table.stdout).not.toMatch(/^network private/m);
  });

  it('polythene backends drops private, saying why, where slirp4netns is not on PATH', async () => {
    // Every tool of the host's but slirp4netns.
    const bin = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-nt-bin-')));
    for (const dir of ['/usr/sbin', '/usr/bin']) {
      for (const name of await readdir(dir)) {
        if (name !== 'slirp4netns') await symlink(join(dir, name), join(bin, name)).catch(() => {});
      }
    }
    const env = { PATH: bin };
    const run = await runPolythene(['backends', '--json'], { env });
    expect(networkModesOf(run.stdout)).toMatchObject({
      bwrap: ['none', 'host'],
      proot: ['none', 'host'],
      chroot: ['none', 'host'],
    });
    const bwrap = JSON.parse(run.stdout).find(
      (backend: { name: string }) => backend.name === 'bwrap',
    );
    expect(bwrap.available).toBe(true);
    expect(bwrap.networkModesLost).toEqual([
      { mode: 'private', reason: 'slirp4netns is not on PATH (install the slirp4netns package)' },
    ]);
    const table = await runPolythene(['backends'], { env });
    expect(networkColumnOf(table.stdout)).toMatchObject({
      bwrap: 'none,host',
      proot: 'none,host',
      chroot: 'none,host',
    });
    expect(table.stdout).toContain(
      'network private: not here: slirp4netns is not on PATH (install the slirp4netns package)\n',
    );
    // And a run agrees: 125, the same reason.
    const exec = await execIn(['--network', 'private'], 'true', env);
    expect(exec.exitCode).toBe(125);
    expect(exec.stderr).toContain('--network private: slirp4netns is not on PATH');
  });

  it('polythene backends, unprivileged, gives private only with a /dev/net/tun the user can open', async () => {
    const user = await ensureTestUser();
    const device = removeWhenDone(`/tmp/polythene-nt-tundev-${process.pid}-${randomInt(1e6)}`);
    await mkdir(device);
    // A tun device of the given mode over the host's, in a mount namespace of this test's own.
    const backendsWithTun = async (mode: string, ...args: string[]) => {
      const script = [
        `rm -f ${device}/tun`,
        `mknod ${device}/tun c 10 200`,
        `chmod ${mode} ${device}/tun`,
        `mount --bind ${device}/tun /dev/net/tun`,
        `exec runuser -u ${user.name} -- "$@"`,
      ].join(' && ');
      return execa(
        'unshare',
        [
          ...['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh'],
          ...[process.execPath, POLYTHENE_BIN, 'backends', ...args],
        ],
        { env: testUserEnv(user), extendEnv: false, cwd: user.home, reject: false },
      );
    };
    const closed = await backendsWithTun('0600', '--json');
    expect(closed.exitCode, closed.stderr).toBe(0);
    const bwrap = JSON.parse(closed.stdout).find(
      (backend: { name: string }) => backend.name === 'bwrap',
    );
    expect(bwrap.networkModes).toEqual(['none', 'host']);
    expect(bwrap.networkModesLost[0]?.reason).toMatch(
      /^\/dev\/net\/tun \(mode 0600\) cannot be opened by this user/,
    );
    const closedTable = await backendsWithTun('0600');
    expect(networkColumnOf(closedTable.stdout).bwrap).toBe('none,host');
    expect(closedTable.stdout).toMatch(
      /^network private: not here: \/dev\/net\/tun \(mode 0600\)/m,
    );
    const open = await backendsWithTun('0666');
    expect(networkColumnOf(open.stdout).bwrap).toBe('none,host,private');
  });
});

function networkModesOf(json: string): Record<string, string[]> {
  return Object.fromEntries(
    JSON.parse(json).map((backend: { name: string; networkModes: string[] }) => [
      backend.name,
      backend.networkModes,
    ]),
  );
}

// The NETWORK column (the last) of each row of the backends table.
function networkColumnOf(table: string): Record<string, string> {
  const [header = '', ...rows] = table.split('\n');
  const start = header.indexOf('NETWORK');
  return Object.fromEntries(
    rows
      .filter((row) => row.length > start && /^\S/.test(row) && !row.includes(':'))
      .map((row) => [row.split(' ')[0], row.slice(start).trim()]),
  );
}

function splitOnce(text: string, separator: string): [string, string] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, ''] : [text.slice(0, index), text.slice(index + separator.length)];
}
