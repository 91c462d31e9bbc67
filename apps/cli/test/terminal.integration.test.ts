import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  testUserEnv,
} from '@polythene/test-images';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  POLYTHENE_BIN,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';
import { openTmuxPane, type TmuxPane } from './tmux-pane.ts';

// `polythene shell` and `exec --tty` on a real terminal: a tmux pane, driven with send-keys
// and read with capture-pane, as a user would see it.

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface Entry {
  readonly store: string;
  readonly id: string;
  /** Words in front of `node polythene …` in the pane (runuser for the test user). */
  readonly prefix: string;
}

let rootEntry: Entry;
let userEntry: Entry;
let tiocsti: string;

beforeAll(async () => {
  // A hostile command for the TIOCSTI test, built here and copied into each rootfs.
  const work = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-tty-test-')));
  tiocsti = join(work, 'tiocsti');
  await execa('gcc', ['-static', '-O1', '-o', tiocsti, join(fixtures, 'tiocsti.c')]);

  const images = await ensureTestImages();
  const store = await freshStorePath();
  const pulled = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(pulled.exitCode, pulled.stderr).toBe(0);
  rootEntry = { store, id: pulled.stdout.trim(), prefix: '' };

  const user = await ensureTestUser();
  const userImages = await ensureTestImagesAs(user);
  const userStore = removeWhenDone(`/tmp/polythene-tty-user-${process.pid}-${Date.now()}`);
  const userPull = await runPolytheneAs([
    'pull',
    userImages.busybox,
    '--store',
    userStore,
    '--quiet',
  ]);
  expect(userPull.exitCode, userPull.stderr).toBe(0);
  const env = Object.entries({ ...testUserEnv(user), TERM: 'tmux-256color' })
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  userEntry = {
    store: userStore,
    id: userPull.stdout.trim(),
    prefix: `runuser -u ${user.name} -- env -i ${env}`,
  };
  for (const entry of [rootEntry, userEntry]) {
    await copyFile(tiocsti, join(entry.store, entry.id, 'bin', 'tiocsti'));
  }
});

let pane: TmuxPane | undefined;
afterEach(async () => {
  await pane?.close();
  pane = undefined;
});

/**
 * Opens a pane and starts `polythene shell` there, behind `wrapper` words when given;
 * resolves once the box's shell prompts.
 */
async function openShell(entry: Entry, backend: string, wrapper = ''): Promise<TmuxPane> {
  pane = await openTmuxPane(100, 30);
  const shell = [
    wrapper,
    entry.prefix,
    process.execPath,
    POLYTHENE_BIN,
    'shell',
    entry.id,
    '--store',
    entry.store,
    '--isolation',
    backend,
  ].join(' ');
  await pane.run(`${shell}; echo "polythene exited $?"`);
  // A marker the shell computes, so the typed command line itself never matches.
  await pane.run('echo "box-$((40 + 2))"');
  await pane.waitFor(/^box-42/m);
  return pane;
}

/** Runs `command` in the box and waits for the line `done-N` it prints after it. */
async function runInBox(box: TmuxPane, command: string, step: number): Promise<string> {
  const separator = command.endsWith('&') ? '' : ';';
  await box.run(`${command}${separator} echo "done-$((${step} * 1000 + 1))"`);
  return box.waitFor(new RegExp(`^done-${step * 1000 + 1}`, 'm'));
}

/** Host pids whose command line contains every one of `words`. */
function findProcesses(...words: string[]): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (words.every((word) => argv.includes(word))) found.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const cases = [
  { backend: 'bwrap', who: 'root' },
  { backend: 'proot', who: 'root' },
  { backend: 'chroot', who: 'root' },
  { backend: 'bwrap', who: 'an unprivileged user' },
  { backend: 'proot', who: 'an unprivileged user' },
] as const;

describe.each(cases)('polythene shell --isolation $backend as $who', ({ backend, who }) => {
  const entry = (): Entry => (who === 'root' ? rootEntry : userEntry);

  it('gives the box a terminal of its own: tty, size, resizes, job control, Ctrl-C, Ctrl-Z, exit code', async () => {
    const box = await openShell(entry(), backend);
    let shown = await runInBox(box, 'tty; stty size', 1);
    expect(shown).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(shown).toContain(`\n${await box.size()}\n`);

    // A resize sends SIGWINCH to the box's foreground job (not just to the shell).
    await box.run(
      `sh -c 'trap "echo winch-$((6 * 7)); exit 0" WINCH; while :; do sleep 0.1; done'`,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await box.resize(80, 20);
    await box.waitFor(/^winch-42/m);
    shown = await runInBox(box, 'stty size', 2);
    expect(await box.size()).toBe('20 80');
    expect(shown).toMatch(/^20 80$/m);

    shown = await runInBox(box, 'sleep 100 & jobs', 3);
    expect(shown).toMatch(/^\[1\]\+ +Running +sleep 100/m);

    // Ctrl-C ends the foreground job, not the shell.
    await box.run('sleep 100');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await box.keys('C-c');
    shown = await runInBox(box, 'echo "alive-$((6 * 7))"', 4);
    expect(shown).toMatch(/^alive-42$/m);

    // Ctrl-Z stops the foreground job; fg brings it back, and Ctrl-C ends it.
    await box.run('sleep 101');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await box.keys('C-z');
    await box.waitFor(/Stopped\s+sleep 101/);
    await box.run('fg');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await box.keys('C-c');
    shown = await runInBox(box, 'jobs; echo "fg-$((6 * 7))"', 5);
    // What `jobs` listed: the first sleep, not the one ended in the foreground.
    const listed = shown.slice(shown.lastIndexOf('jobs; echo'), shown.lastIndexOf('fg-42'));
    expect(listed).toMatch(/sleep 100/);
    expect(listed).not.toMatch(/sleep 101/);

    await box.run('exit 7');
    await box.waitFor(/^polythene exited 7$/m);
  });

  it('keeps TIOCSTI from the box in the box: the user\u2019s shell outside types nothing', async () => {
    const marker = `tiocsti-${process.pid}-${Date.now()}`;
    const box = await openShell(entry(), backend);
    // The box's shell exits on the same line, so nothing in the box reads what was injected:
    // were it injected into the pane's terminal, the pane's shell would run it.
    await box.run(`tiocsti 'touch /tmp/${marker}'; exit 0`);
    const shown = await box.waitFor(/^polythene exited 0$/m);
    await box.run('echo "outside-$((6 * 7))"');
    await box.waitFor(/^outside-42$/m);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    // The kernel took the injection into the box's own terminal (the test can fail), and
    // into no other terminal (the pane's included, which polythene's relay reads meanwhile).
    expect(shown).toMatch(/^tiocsti accepted own [1-9]\d* others 0\r?$/m);
  });

  it('after kill -9 of polythene, the terminal is usable again and no process of the box survives', async () => {
    // The pane's bash puts the terminal back itself when its foreground job dies of a
    // signal: a wrapper that exits normally (as runuser does for the unprivileged user)
    // leaves the restore to polythene's helper, which this tests.
    const box = await openShell(entry(), backend, `sh -c '"$@"; exit $?' sh`);
    // Numbers no other sleep on the machine has.
    const seconds = String(3000 + (Date.now() % 1000));
    await runInBox(box, `sleep ${seconds}1 &`, 1);
    await box.run(`sleep ${seconds}2`);
    await waitUntil(
      () =>
        findProcesses('sleep', `${seconds}1`).length +
          findProcesses('sleep', `${seconds}2`).length ===
        2,
      'both sleeps run',
    );
    // polythene itself, not runuser or env in front of it.
    const [polythene, ...others] = findProcesses(POLYTHENE_BIN, 'shell', entry().store).filter(
      (pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(`${process.execPath}\0`),
    );
    expect(others).toEqual([]);
    process.kill(polythene as number, 'SIGKILL');
    // (Not anchored: the user's shell may print this before the relay has had the CPU to
    // restore the terminal: what counts is the mode the terminal is left in.)
    await box.waitFor(/polythene exited 137$/m);
    // The helper restores the terminal as soon as it has the CPU, which on a loaded machine
    // may be after the shell has printed its prompt.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await box.run('stty -a; echo "stty-$((6 * 7))"');
    const modes = await box.waitFor(/^stty-42$/m);
    // Canonical mode and echo back on: not left raw.
    expect(modes).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(modes).toMatch(/(^|\s)echo(\s|$)/m);
    await waitUntil(
      () =>
        findProcesses('sleep', `${seconds}1`).length +
          findProcesses('sleep', `${seconds}2`).length ===
        0,
      "the box's processes are gone",
    );
  });
});
