import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createTcpServer } from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import { removeWhenDone } from './run-polythene.ts';

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What `curl` gets from 127.0.0.1:PORT once it answers `expected` (or the last answer). */
export async function waitForAnswer(port: number, expected: string): Promise<string> {
  let answer = '';
  await waitFor(async () => {
    const probe = await execa('curl', ['-s', '--max-time', '2', `http://127.0.0.1:${port}/`], {
      reject: false,
    });
    answer = probe.stdout;
    return answer === expected;
  });
  return answer;
}

/** A network namespace the test owns, joined to the host by a veth pair, serving HTTP. */
export interface TestNetns {
  readonly address: string;
  readonly port: number;
  remove(): Promise<void>;
}

/** Makes a {@link TestNetns} whose busybox httpd answers `body`. */
export async function startTestNetns(body: string): Promise<TestNetns> {
  const netns = `polythene-nt-${process.pid}-${randomInt(1e6)}`;
  const hostVeth = `pnh${randomInt(1e6)}`;
  const nsVeth = `pnb${randomInt(1e6)}`;
  // A /30 the test owns, away from slirp4netns's 10.0.2.0/24.
  const [a, b, c, d] = [10, 214, randomInt(256), randomInt(64) * 4];
  const hostAddress = `${a}.${b}.${c}.${d + 1}`;
  const address = `${a}.${b}.${c}.${d + 2}`;
  const port = 8080;
  const inNs = (...args: string[]) => execa('ip', ['netns', 'exec', netns, ...args]);
  await execa('ip', ['netns', 'add', netns]);
  await execa('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nsVeth]);
  await execa('ip', ['link', 'set', nsVeth, 'netns', netns]);
  await execa('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostVeth]);
  await execa('ip', ['link', 'set', hostVeth, 'up']);
  await inNs('ip', 'addr', 'add', `${address}/30`, 'dev', nsVeth);
  await inNs('ip', 'link', 'set', nsVeth, 'up');
  await inNs('ip', 'link', 'set', 'lo', 'up');
  const root = removeWhenDone(`/tmp/polythene-nt-www-${process.pid}-${randomInt(1e6)}`);
  await execa('sh', ['-c', `mkdir -p ${root} && echo ${body} > ${root}/index.html`]);
  const server: ResultPromise = inNs(
    'busybox',
    'httpd',
    '-f',
    '-p',
    `${address}:${port}`,
    '-h',
    root,
  );
  server.catch(() => undefined);
  await waitFor(async () => {
    const probe = await execa('busybox', ['wget', '-q', '-O-', `http://${address}:${port}/`], {
      reject: false,
    });
    return probe.stdout === body;
  });
  return {
    address,
    port,
    async remove() {
      server.kill('SIGKILL');
      await execa('ip', ['netns', 'del', netns], { reject: false });
      await execa('ip', ['link', 'del', hostVeth], { reject: false });
    },
  };
}

/** Every process below `pid` once slirp4netns and `sleep` run there. */
export async function waitForTree(pid: number): Promise<number[]> {
  let tree: { pid: number; comm: string }[] = [];
  await waitFor(async () => {
    tree = await listDescendants(pid);
    return (
      tree.some((entry) => entry.comm === 'slirp4netns') && tree.some((e) => e.comm === 'sleep')
    );
  });
  expect(tree.map((entry) => entry.comm)).toContain('slirp4netns');
  return tree.map((entry) => entry.pid);
}

async function listDescendants(root: number): Promise<{ pid: number; comm: string }[]> {
  const { stdout } = await execa('ps', ['-e', '-o', 'pid=,ppid=,comm=']);
  const rows = stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm: comm ?? '' }));
  const found: { pid: number; comm: string }[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const row of rows) {
      if (row.ppid === parent) {
        found.push({ pid: row.pid, comm: row.comm });
        queue.push(row.pid);
      }
    }
  }
  return found;
}

export async function expectAllGone(pids: readonly number[]): Promise<void> {
  const isLiving = async (pid: number): Promise<boolean> => {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      return !/\) [ZX] /.test(stat);
    } catch {
      return false;
    }
  };
  let living: number[] = [];
  const startedAt = Date.now();
  while (Date.now() - startedAt < 5_000) {
    living = [];
    for (const pid of pids) if (await isLiving(pid)) living.push(pid);
    if (living.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(living, 'processes left running').toEqual([]);
}
