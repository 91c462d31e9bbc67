import { readdirSync, readFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureTestImages, ensureTestImagesAs, ensureTestUser } from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
  startPolythene,
  UUID_PATTERN,
} from './run-polythene.ts';

// What `start` gives a box besides its entry (network, published ports, limits of the whole
// box), names claimed atomically, and `logs --follow`: against real bwrap, as root.

let store: string;
let entry: string;
const started: string[] = [];

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath('polythene-boxes-options-test-');
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  entry = run.stdout.trim();
});

afterAll(async () => {
  for (const id of started) await runPolythene(['stop', id, '--store', store]);
});

async function startBox(...flags: string[]): Promise<string> {
  const run = await runPolythene(['start', entry, '--store', store, ...flags]);
  expect(run.exitCode, run.stderr).toBe(0);
  const id = run.stdout.trim();
  expect(id).toMatch(UUID_PATTERN);
  started.push(id);
  return id;
}

function execIn(box: string, ...command: string[]) {
  return runPolythene(['exec', '--in', box, '--store', store, '--', ...command]);
}

function holderPid(id: string): number {
  return JSON.parse(readFileSync(join(store, '.boxes', id, 'holder.json'), 'utf8')).pid;
}

/** The host directory of process `pid`'s cgroup in the v1 hierarchy of `controller`. */
function cgroupDirectoryOf(pid: number, controller: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((each) => each.split(':')[1]?.split(',').includes(controller));
  const path = line?.split(':')[2] ?? '';
  const mount = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find(
      (each) =>
        / - cgroup /.test(each) &&
        each.split(' - ')[1]?.split(' ')[2]?.split(',').includes(controller),
    );
  return `${mount?.split(' ')[4]}${path}`;
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

describe('start --network private -p', () => {
  it("publishes a detached service's port of a live box on the host loopback", async () => {
    const port = await freePort();
    const box = await startBox('--network', 'private', '-p', `${port}:80`);
    const ps = await runPolythene(['ps', '--store', store, '--json']);
    expect(JSON.parse(ps.stdout)).toContainEqual(expect.objectContaining({ id: box }));
    // The box has its own network with a tap device (slirp4netns), not loopback alone.
    const devices = await execIn(box, 'cat', '/proc/net/dev');
    expect(devices.stdout).toMatch(/tap0|eth0/);
    const detach = await runPolythene([
      ...['exec', '--in', box, '--detach', '--store', store, '--'],
      ...['httpd', '-f', '-p', '80', '-h', '/etc'],
    ]);
    expect(detach.exitCode, detach.stderr).toBe(0);
    let page = '';
    const isServing = await waitFor(async () => {
      const probe = await execa(
        'curl',
        ['-s', '--max-time', '2', `http://127.0.0.1:${port}/passwd`],
        { reject: false },
      );
      page = probe.stdout;
      return probe.exitCode === 0 && page.includes('root:x:0:0');
    });
    expect(isServing, page).toBe(true);
    const stop = await runPolythene(['stop', box, '--store', store]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    const after = await execa('curl', ['-s', '--max-time', '2', `http://127.0.0.1:${port}/`], {
      reject: false,
    });
    expect(after.exitCode).not.toBe(0);
  });

  it('refuses -p without --network private, and a bad mode (2), starting nothing', async () => {
    for (const flags of [
      ['-p', '8080:80'],
      ['--network', 'bogus'],
    ]) {
      const run = await runPolythene(['start', entry, '--store', store, ...flags]);
      expect(run.exitCode).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('start --memory / --pids-limit', () => {
  it('holds every exec --in to the limits of the whole box', async () => {
    const box = await startBox('--memory', '64m', '--pids-limit', '50');
    const holder = holderPid(box);
    const pids = cgroupDirectoryOf(holder, 'pids');
    expect(readFileSync(`${pids}/pids.max`, 'utf8').trim()).toBe('50');
    const memory = cgroupDirectoryOf(holder, 'memory');
    expect(Number(readFileSync(`${memory}/memory.limit_in_bytes`, 'utf8'))).toBe(64 * 1024 ** 2);
    // A command entering the box runs in its cgroup: its memory counts against the box's.
    const own = await execIn(box, 'sh', '-c', 'cat /proc/self/cgroup');
    expect(own.stdout).toContain(memory.slice(memory.lastIndexOf('/polythene-')));
    // So does a --detach-ed one (its cgroups, written to the box's log).
    const detached = await runPolythene([
      ...['exec', '--in', box, '--detach', '--store', store, '--'],
      ...['sh', '-c', 'echo detached-cgroups; cat /proc/self/cgroup'],
    ]);
    expect(detached.exitCode, detached.stderr).toBe(0);
    let log = '';
    await waitFor(async () => {
      log = (await runPolythene(['logs', box, '--store', store])).stdout;
      return log.includes(':memory:');
    });
    expect(log).toContain(`:memory:${memory.slice(memory.indexOf('/', '/sys/fs/cgroup/'.length))}`);
    const hog = await execIn(box, 'sh', '-c', 'x=a; while :; do x="$x$x"; done');
    expect(hog.exitCode, hog.stderr).toBe(137);
    // The box outlives its hog.
    const next = await execIn(box, 'true');
    expect(next.exitCode, next.stderr).toBe(0);
    const bomb = await execIn(box, 'sh', '-c', 'for i in $(seq 80); do sleep 5 & done; wait');
    expect(bomb.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
  });

  it('refuses a bad limit (2)', async () => {
    const run = await runPolythene(['start', entry, '--store', store, '--memory', '12q']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^polythene: --memory 12q: expected a size/);
  });
});

describe('start --memory as an unprivileged user (cgroup v1: no writable cgroup)', () => {
  it('starts the box and says once that its limits do not hold', async () => {
    const user = await ensureTestUser();
    const images = await ensureTestImagesAs(user);
    const userStore = removeWhenDone(
      `/tmp/polythene-boxes-limits-user-${process.pid}-${Date.now()}`,
    );
    const pull = await runPolytheneAs(['pull', images.busybox, '--store', userStore, '--quiet']);
    expect(pull.exitCode, pull.stderr).toBe(0);
    const start = await runPolytheneAs([
      ...['start', pull.stdout.trim(), '--store', userStore, '--memory', '64m'],
    ]);
    expect(start.exitCode, start.stderr).toBe(0);
    const id = start.stdout.trim();
    try {
      expect(start.stderr.trim()).toMatch(/^polythene: warning: the box runs without limits \(/);
      expect(start.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      const stop = await runPolytheneAs(['stop', id, '--store', userStore]);
      expect(stop.exitCode, stop.stderr).toBe(0);
    }
  });
});

describe('box names', () => {
  it('go to one of several starts at once; the others refuse (2) and leave nothing', async () => {
    const name = `race-${process.pid}`;
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() => runPolythene(['start', entry, '--store', store, '--name', name])),
    );
    const winners = runs.filter((run) => run.exitCode === 0);
    expect(winners, runs.map((run) => run.stderr).join('')).toHaveLength(1);
    const id = winners[0]?.stdout.trim() ?? '';
    started.push(id);
    for (const run of runs.filter((each) => each.exitCode !== 0)) {
      expect(run.exitCode).toBe(2);
      expect(run.stderr.trim()).toMatch(
        new RegExp(`^polythene: --name ${name}: box ${id} already has that name `),
      );
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    const ps = JSON.parse((await runPolythene(['ps', '--store', store, '--json'])).stdout);
    expect(ps.filter((box: { name?: string }) => box.name === name)).toHaveLength(1);
    expect(readdirSync(join(store, '.boxes')).filter((each) => UUID_PATTERN.test(each))).toContain(
      id,
    );
    const stop = await runPolythene(['stop', name, '--store', store]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    // Free again once its box stopped.
    await startBox('--name', name);
  });
});

describe('logs --follow', () => {
  it('prints new output as it comes and ends when the box stops', async () => {
    const box = await startBox();
    const marker = `follow-${process.pid}`;
    const follow = startPolythene(['logs', box, '--follow', '--store', store]);
    let seen = '';
    follow.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    const detach = await runPolythene([
      ...['exec', '--in', box, '--detach', '--store', store, '--'],
      ...['sh', '-c', `echo ${marker}-one; sleep 1; echo ${marker}-two`],
    ]);
    expect(detach.exitCode, detach.stderr).toBe(0);
    expect(await waitFor(async () => seen.includes(`${marker}-one`), 10_000)).toBe(true);
    // Written a second later, after `logs` had printed what there was.
    expect(await waitFor(async () => seen.includes(`${marker}-two`), 10_000)).toBe(true);
    expect(follow.exitCode).toBeNull();
    const stop = await runPolythene(['stop', box, '--store', store]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    const ended = await follow;
    expect(ended.exitCode).toBe(0);
  });

  it('ends on SIGINT while the box runs on', async () => {
    const box = await startBox();
    const follow = startPolythene(['logs', box, '--follow', '--store', store]);
    await sleep(1_000);
    expect(follow.exitCode).toBeNull();
    follow.kill('SIGINT');
    const ended = await follow;
    expect(ended.exitCode === 130 || ended.signal === 'SIGINT').toBe(true);
    expect((await execIn(box, 'true')).exitCode).toBe(0);
  });
});
