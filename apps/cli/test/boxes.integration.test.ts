import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureTestImages, ensureTestImagesAs, ensureTestUser } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
  startPolythene,
  UUID_PATTERN,
} from './run-polythene.ts';

// Boxes that stay up (`start`, `exec --in`, `--detach`, `logs`, `ps`, `stop`, expiry),
// against real bwrap and chroot, as root; and bwrap as the unprivileged test user.

let store: string;
let entry: string;
const started: string[] = [];

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath('polythene-boxes-test-');
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

function holderOf(id: string): { pid: number; startTime: number } {
  return JSON.parse(readFileSync(join(store, '.boxes', id, 'holder.json'), 'utf8'));
}

/** Host pids whose command line mentions `text` (the box's processes as the host sees them). */
function hostPidsRunning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** True while `pid` runs (a zombie left for an adopting reaper has ended). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function keeperOf(id: string): number {
  return JSON.parse(readFileSync(join(store, '.boxes', id, 'box.json'), 'utf8')).keeperPid;
}

function expectNothingLeft(id: string, marker: string, keeperPid: number): void {
  expect(existsSync(join(store, '.boxes', id))).toBe(false);
  expect(hostPidsRunning(marker)).toEqual([]);
  expect(isRunning(keeperPid)).toBe(false);
  // The box's throwaway layer (named after its keeper) is gone.
  expect(readdirSync(store).filter((name) => name.endsWith(`.${keeperPid}`))).toEqual([]);
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(store);
}

async function fetchInBox(
  box: string,
  port: number,
): Promise<{ exitCode: number; stdout: string }> {
  return runPolythene([
    'exec',
    '--in',
    box,
    '--store',
    store,
    '--',
    'wget',
    '-qO-',
    `http://127.0.0.1:${port}/passwd`,
  ]);
}

async function waitUntilServing(box: string, port: number): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if ((await fetchInBox(box, port)).exitCode === 0) return;
    await sleep(100);
  }
}

describe.each(['bwrap', 'chroot'])('a box with %s', (isolation) => {
  it('keeps a --detach-ed httpd up for the next exec --in, and out of reach of a fresh exec', async () => {
    const name = `web-${isolation}-${process.pid}`;
    const box = await startBox('--name', name, '--isolation', isolation);
    const port = 8000 + Math.floor(Math.random() * 1000);
    const marker = `httpd -f -p 127.0.0.1:${port}`;
    const detach = await runPolythene([
      'exec',
      '--in',
      name,
      '--detach',
      '--store',
      store,
      '--',
      'sh',
      '-c',
      `echo serving on ${port}; exec ${marker} -h /etc`,
    ]);
    expect(detach.exitCode, detach.stderr).toBe(0);
    expect(detach.stdout).toBe('');
    await waitUntilServing(name, port);
    const page = await fetchInBox(name, port);
    expect(page.exitCode).toBe(0);
    expect(page.stdout).toContain('root:x:0:0');

    const fresh = await runPolythene([
      'exec',
      entry,
      '--store',
      store,
      '--ephemeral',
      '--isolation',
      isolation,
      '--',
      'wget',
      '-qO-',
      `http://127.0.0.1:${port}/passwd`,
    ]);
    expect(fresh.exitCode).not.toBe(0);

    const logs = await runPolythene(['logs', name, '--store', store]);
    expect(logs.stdout).toContain(`serving on ${port}`);
    const ps = await runPolythene(['ps', '--store', store, '--json']);
    expect(JSON.parse(ps.stdout)).toContainEqual(
      expect.objectContaining({ id: box, name, entry, backend: isolation }),
    );
    expect(hostPidsRunning(marker)).toHaveLength(1);

    const keeper = keeperOf(box);
    const stop = await runPolythene(['stop', name, '--store', store]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout.trim()).toBe(box);
    expectNothingLeft(box, marker, keeper);
  });
});

describe('exec --in', () => {
  it("runs in the box's pid namespace and root, as its root with the container capability set", async () => {
    const box = await startBox();
    const run = await runPolythene([
      'exec',
      '--in',
      box,
      '--store',
      store,
      '--',
      'sh',
      '-c',
      'cat /proc/1/cmdline | tr "\\0" " "; echo; grep CapEff /proc/self/status; ls /proc | grep -c "^[0-9]"',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const [init, caps] = run.stdout.split('\n');
    expect(init).toContain('polythene-box');
    // As in a fresh exec: in-box root holds podman's 11, bounded by the box's user namespace.
    expect(caps).toBe('CapEff:\t00000000800405fb');
    const chowned = await runPolythene([
      'exec',
      '--in',
      box,
      '--store',
      store,
      '--',
      'sh',
      '-c',
      'touch /tmp/owned && chown 1000:1000 /tmp/owned && stat -c %u:%g /tmp/owned',
    ]);
    expect(chowned.exitCode, chowned.stderr).toBe(0);
    expect(chowned.stdout).toBe('1000:1000\n');
    await runPolythene(['stop', box, '--store', store]);
  });

  it('enters a box whose image user is not root as that user, and as another (every id is mapped)', async () => {
    const box = await startBox('--user', '1000', '--isolation', 'bwrap');
    const run = await runPolythene([
      'exec',
      '--in',
      box,
      '--store',
      store,
      '--',
      'sh',
      '-c',
      'id -u; grep CapEff /proc/self/status; touch /tmp/mine && stat -c %u /tmp/mine',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('1000\nCapEff:\t0000000000000000\n1000\n');
    const other = await runPolythene([
      'exec',
      '--in',
      box,
      '--store',
      store,
      '--user',
      '0',
      '--',
      'id',
    ]);
    // The box holds the whole id map (bwrap is root of it, the holder became 1000), so
    // another in-box user can be entered: before, bwrap's nested one-id namespace refused it.
    expect(other.exitCode, other.stderr).toBe(0);
    expect(other.stdout).toMatch(/^uid=0\(root\)/);
    await runPolythene(['stop', box, '--store', store]);
  });

  it('exits with the command status, and 127 for a command the box lacks', async () => {
    const box = await startBox();
    const failed = await runPolythene([
      'exec',
      '--in',
      box,
      '--store',
      store,
      '--',
      'sh',
      '-c',
      'exit 7',
    ]);
    expect(failed.exitCode).toBe(7);
    const missing = await runPolythene([
      'exec',
      '--in',
      box,
      '--store',
      store,
      '--',
      'no-such-command',
    ]);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('no-such-command');
    await runPolythene(['stop', box, '--store', store]);
  });

  it('POLYTHENE_TIMEOUT bounds exec --in (-t wins), never a --detach-ed process', async () => {
    const box = await startBox();
    const env = { POLYTHENE_TIMEOUT: '1' };
    const bounded = await runPolythene(['exec', '--in', box, '-s', store, '--', 'sleep', '30'], {
      env,
    });
    expect(bounded.exitCode).toBe(124);
    const flagWins = await runPolythene(
      ['exec', '--in', box, '-s', store, '-t', '30', '--', 'sh', '-c', 'sleep 2; exit 3'],
      { env },
    );
    expect(flagWins.exitCode).toBe(3);
    const detached = await runPolythene(
      ['exec', '--in', box, '-s', store, '--detach', '--', 'sleep', '30'],
      { env },
    );
    expect(detached.exitCode, detached.stderr).toBe(0);
    await sleep(2500);
    const listed = await runPolythene(['exec', '--in', box, '-s', store, '--', 'ps']);
    expect(listed.stdout).toMatch(/sleep 30/);
    await runPolythene(['stop', box, '--store', store]);
  });
});

describe('two boxes of one entry', () => {
  it('do not see each other: processes, files, ports', async () => {
    const first = await startBox();
    const second = await startBox();
    const port = 9000 + Math.floor(Math.random() * 1000);
    for (const box of [first, second]) {
      const run = await runPolythene([
        'exec',
        '--in',
        box,
        '--detach',
        '--store',
        store,
        '--',
        'httpd',
        '-f',
        '-p',
        `127.0.0.1:${port}`,
        '-h',
        '/etc',
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
    }
    await runPolythene([
      'exec',
      '--in',
      first,
      '--store',
      store,
      '--',
      'sh',
      '-c',
      'echo mine > /tmp/only-first',
    ]);
    const seen = await runPolythene([
      'exec',
      '--in',
      second,
      '--store',
      store,
      '--',
      'cat',
      '/tmp/only-first',
    ]);
    expect(seen.exitCode).not.toBe(0);
    const processes = await runPolythene(['exec', '--in', second, '--store', store, '--', 'ps']);
    expect(processes.stdout.match(/httpd/g)).toHaveLength(1);
    await waitUntilServing(first, port);
    expect((await fetchInBox(second, port)).exitCode).toBe(0);
    for (const box of [first, second]) await runPolythene(['stop', box, '--store', store]);
    expect(hostPidsRunning(`127.0.0.1:${port}`)).toEqual([]);
  });
});

describe('the life of a box', () => {
  it('outlives the CLI that started it (SIGKILLed), and stop then leaves nothing', async () => {
    const name = `killed-${process.pid}`;
    const starting = startPolythene(['start', entry, '--store', store, '--name', name]);
    let id: string | undefined;
    for (let attempt = 0; attempt < 200 && id === undefined; attempt += 1) {
      await sleep(25);
      const ids = existsSync(join(store, '.boxes')) ? readdirSync(join(store, '.boxes')) : [];
      id = ids.find(
        (each) => !started.includes(each) && existsSync(join(store, '.boxes', each, 'holder.json')),
      );
    }
    starting.kill('SIGKILL');
    await starting;
    expect(id).toBeDefined();
    const box = id as string;
    started.push(box);
    const { pid } = holderOf(box);
    expect(
      (await runPolythene(['exec', '--in', name, '--store', store, '--', 'true'])).exitCode,
    ).toBe(0);
    const marker = `sleep 4242${process.pid}`;
    await runPolythene([
      'exec',
      '--in',
      name,
      '--detach',
      '--store',
      store,
      '--',
      'sh',
      '-c',
      `exec ${marker}`,
    ]);
    expect(hostPidsRunning(marker)).toHaveLength(1);
    const keeper = keeperOf(box);
    expect((await runPolythene(['stop', name, '--store', store])).exitCode).toBe(0);
    expect(isRunning(pid)).toBe(false);
    expectNothingLeft(box, marker, keeper);
  });

  it('--expire-after ends an idle box by itself', async () => {
    const box = await startBox('--expire-after', '3s');
    const marker = `sleep 4343${process.pid}`;
    await runPolythene([
      'exec',
      '--in',
      box,
      '--detach',
      '--store',
      store,
      '--',
      'sh',
      '-c',
      `exec ${marker}`,
    ]);
    const { pid } = holderOf(box);
    const keeper = keeperOf(box);
    // Used at 1 s: the idle time starts again then.
    await sleep(1_000);
    expect(
      (await runPolythene(['exec', '--in', box, '--store', store, '--', 'true'])).exitCode,
    ).toBe(0);
    await sleep(2_200);
    expect(isRunning(pid)).toBe(true);
    for (let waited = 0; waited < 8_000 && isRunning(pid); waited += 100) await sleep(100);
    expect(isRunning(pid)).toBe(false);
    await sleep(300);
    const ps = await runPolythene(['ps', '--store', store, '--json']);
    expect(JSON.parse(ps.stdout).map((each: { id: string }) => each.id)).not.toContain(box);
    expectNothingLeft(box, marker, keeper);
  });

  it('a box whose holder was killed is cleaned by the next ps', async () => {
    const box = await startBox();
    const { pid } = holderOf(box);
    process.kill(pid, 'SIGKILL');
    for (let waited = 0; waited < 5_000 && existsSync(join(store, '.boxes', box)); waited += 100) {
      const ps = await runPolythene(['ps', '--store', store, '--json']);
      if (!ps.stdout.includes(box)) break;
      await sleep(100);
    }
    const ps = await runPolythene(['ps', '--store', store, '--json']);
    expect(ps.stdout).not.toContain(box);
    const again = await runPolythene(['exec', '--in', box, '--store', store, '--', 'true']);
    expect(again.exitCode).toBe(1);
  });

  it('a box whose keeper was SIGKILLed dies with it; ps cleans its state, prune its scratch', async () => {
    const box = await startBox();
    const { pid } = holderOf(box);
    const keeper = keeperOf(box);
    process.kill(keeper, 'SIGKILL');
    for (let waited = 0; waited < 5_000 && isRunning(pid); waited += 100) await sleep(100);
    expect(isRunning(pid)).toBe(false);
    const ps = await runPolythene(['ps', '--store', store, '--json']);
    expect(ps.stdout).not.toContain(box);
    expect(existsSync(join(store, '.boxes', box))).toBe(false);
    expect((await runPolythene(['prune', '--store', store])).exitCode).toBe(0);
    expect(readdirSync(store).filter((name) => name.endsWith(`.${keeper}`))).toEqual([]);
  });

  it('rm refuses an entry with a running box and names it; rm --force stops it first', async () => {
    const clone = await runPolythene(['clone', entry, '--store', store]);
    expect(clone.exitCode, clone.stderr).toBe(0);
    const cloneId = clone.stdout.trim();
    const run = await runPolythene(['start', cloneId, '--store', store]);
    expect(run.exitCode, run.stderr).toBe(0);
    const box = run.stdout.trim();
    started.push(box);
    const refused = await runPolythene(['rm', cloneId, '--store', store]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(box);
    const forced = await runPolythene(['rm', '--force', cloneId, '--store', store]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(existsSync(join(store, cloneId))).toBe(false);
    expect(existsSync(join(store, '.boxes', box))).toBe(false);
  });
});

describe('bad input', () => {
  it('exec --in an unknown or stopped box: exit 1, one line', async () => {
    const unknown = await runPolythene([
      'exec',
      '--in',
      'no-such-box',
      '--store',
      store,
      '--',
      'true',
    ]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('no-such-box');
    const box = await startBox();
    await runPolythene(['stop', box, '--store', store]);
    const stopped = await runPolythene(['exec', '--in', box, '--store', store, '--', 'true']);
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exec --in: an unknown option and --tty are usage errors (2), with one line', async () => {
    const box = await startBox();
    for (const [flags, message] of [
      [['--bogus'], /^polythene: Unknown option `--bogus`/],
      [['--bind', '/tmp:/mnt'], /^polythene: Unknown option `--bind`/],
      [['--tty'], /^polythene: exec --in takes no --tty: /],
      [['--tty', '--interactive'], /^polythene: exec --in takes no --tty: /],
    ] as const) {
      const run = await runPolythene([
        'exec',
        '--in',
        box,
        '--store',
        store,
        ...flags,
        '--',
        'sh',
        '-c',
        'echo ran',
      ]);
      expect(run.exitCode, flags.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    // --interactive alone is taken, as exec takes it: stdin reaches the command anyway.
    const run = await runPolythene(
      ['exec', '--in', box, '--store', store, '--interactive', '--', 'cat'],
      { input: 'typed\n' },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('typed\n');
  });

  it('--detach without --in: exit 2', async () => {
    const run = await runPolythene(['exec', entry, '--detach', '--store', store, '--', 'true']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--detach');
  });

  it('proot cannot hold a box: 125, and nothing is left', async () => {
    const run = await runPolythene(['start', entry, '--store', store, '--isolation', 'proot']);
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toContain('proot cannot hold namespaces');
  });

  it('refuses a bad or taken name, and a bad duration (2)', async () => {
    for (const name of ['-x', 'a/b', 'x'.repeat(65), '01a24534-6d14-700f-876c-abf8bc77a42a']) {
      const run = await runPolythene(['start', entry, '--store', store, '--name', name]);
      expect(run.exitCode, name).toBe(2);
    }
    const name = `taken-${process.pid}`;
    await startBox('--name', name);
    const taken = await runPolythene(['start', entry, '--store', store, '--name', name]);
    expect(taken.exitCode).toBe(2);
    expect(taken.stderr).toContain('already has that name');
    const duration = await runPolythene(['start', entry, '--store', store, '--expire-after', '3']);
    expect(duration.exitCode).toBe(2);
    await runPolythene(['stop', name, '--store', store]);
  });
});

describe('as an unprivileged user (bwrap in a user namespace)', () => {
  it('starts a box, serves from it across exec --in, and stops it', async () => {
    const user = await ensureTestUser();
    const images = await ensureTestImagesAs(user);
    const userStore = removeWhenDone(`/tmp/polythene-boxes-user-${process.pid}-${Date.now()}`);
    const pull = await runPolytheneAs(['pull', images.busybox, '--store', userStore, '--quiet']);
    expect(pull.exitCode, pull.stderr).toBe(0);
    const userEntry = pull.stdout.trim();
    const start = await runPolytheneAs(['start', userEntry, '--store', userStore, '--name', 'web']);
    expect(start.exitCode, start.stderr).toBe(0);
    try {
      const port = 8000 + Math.floor(Math.random() * 1000);
      const detach = await runPolytheneAs([
        'exec',
        '--in',
        'web',
        '--detach',
        '--store',
        userStore,
        '--',
        'httpd',
        '-f',
        '-p',
        `127.0.0.1:${port}`,
        '-h',
        '/etc',
      ]);
      expect(detach.exitCode, detach.stderr).toBe(0);
      let page = { exitCode: -1, stdout: '', stderr: '' };
      for (let attempt = 0; attempt < 50 && page.exitCode !== 0; attempt += 1) {
        page = await runPolytheneAs([
          'exec',
          '--in',
          'web',
          '--store',
          userStore,
          '--',
          'wget',
          '-qO-',
          `http://127.0.0.1:${port}/passwd`,
        ]);
        if (page.exitCode !== 0) await sleep(100);
      }
      expect(page.exitCode, page.stderr).toBe(0);
      expect(page.stdout).toContain('root:x:0:0');
      const caps = await runPolytheneAs([
        'exec',
        '--in',
        'web',
        '--store',
        userStore,
        '--',
        'grep',
        'CapEff',
        '/proc/self/status',
      ]);
      // In-box root of the box's own user namespace: the container set, bounded by it.
      expect(caps.stdout.trim()).toBe('CapEff:\t00000000800405fb');
    } finally {
      const stop = await runPolytheneAs(['stop', 'web', '--store', userStore]);
      expect(stop.exitCode, stop.stderr).toBe(0);
    }
    // No box's state is left (the names' lock file stays, as the entries' does).
    expect(readdirSync(join(userStore, '.boxes'))).toEqual(['.names.lock']);
  });
});
