import { ensureTestImages, type TestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, POLYTHENE_BIN, runPolythene } from './run-polythene.ts';

// The messages a new user meets (issue 18): each one line, saying what happened and what to do.

let images: TestImages;
let store: string;
let baseId: string;

beforeAll(async () => {
  images = await ensureTestImages();
  store = await freshStorePath();
  const pulled = await runPolythene(['pull', images.busybox, '-s', store, '-q']);
  expect(pulled.exitCode, pulled.stderr).toBe(0);
  baseId = pulled.stdout.trim();
});

async function cloneOf(id: string, method = 'overlay'): Promise<string> {
  const cloned = await runPolythene(['clone', id, '-s', store, '--method', method]);
  expect(cloned.exitCode, cloned.stderr).toBe(0);
  return cloned.stdout.trim();
}

/** The stderr lines polythene itself wrote. */
function polytheneLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('polythene'));
}

describe('an expired --timeout', () => {
  it('says so in one stderr line and exits 124', async () => {
    const run = await runPolythene(['exec', baseId, '-s', store, '-t', '1', '--', 'sleep', '30']);
    expect(run.exitCode).toBe(124);
    expect(run.stdout).toBe('');
    expect(polytheneLines(run.stderr)).toEqual([
      "polythene: timed out after 1 s; killed the command's processes",
    ]);
  });

  it('keeps --json exact: the document alone on stdout, the line on stderr', async () => {
    const run = await runPolythene([
      'exec',
      baseId,
      '-s',
      store,
      '--json',
      '--timeout',
      '0.5',
      '--',
      'sleep',
      '30',
    ]);
    expect(run.exitCode).toBe(124);
    expect(JSON.parse(run.stdout)).toMatchObject({ timedOut: true });
    expect(run.stderr).toContain('polythene: timed out after 0.5 s');
  });
});

describe('a missing local image', () => {
  it('says it is not in local storage and how to list or import it, not a registry error', async () => {
    const run = await runPolythene(['pull', 'localhost/does/not-exist:1', '-s', store]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toBe('');
    // One line besides the progress steps (`polythene: pull…`).
    const lines = run.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.endsWith('…'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('localhost/does/not-exist:1');
    expect(lines[0]).toContain('not in local storage');
    expect(lines[0]).toContain('podman images');
    expect(lines[0]).toMatch(/podman (load|import)/);
    expect(run.stderr).not.toMatch(/pinging|connection refused/);
  });
});

describe('diff of an unchanged entry', () => {
  it('prints nothing on a pipe', async () => {
    const run = await runPolythene(['diff', baseId, '-s', store]);
    expect(run).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  });

  it('prints a "no changes" line on a terminal', async () => {
    const shell = await execa(
      'script',
      ['-qec', `${process.execPath} ${POLYTHENE_BIN} diff ${baseId} -s ${store}`, '/dev/null'],
      { reject: false },
    );
    expect(shell.exitCode, shell.stdout).toBe(0);
    expect(shell.stdout.trim()).toBe('no changes');
  });
});

describe('a set-up failure', () => {
  it.each(['bwrap', 'chroot'])(
    "%s: one line giving the reason once, not the backend twice or mount's dmesg hint",
    async (backend) => {
      // A directory bound onto a file: the backend's mount fails before the command starts.
      const run = await runPolythene([
        'exec',
        baseId,
        '-s',
        store,
        '-i',
        backend,
        '--json',
        '--bind',
        `${store}:/etc/passwd`,
        '--',
        'true',
      ]);
      expect(run.exitCode, run.stderr).toBe(125);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^polythene: ${backend} could not set up the sandbox: `));
      expect(lines[0]?.split(backend)).toHaveLength(2);
      expect(lines[0]).not.toContain('dmesg');
      expect(lines[0]).toMatch(/passwd/);
    },
  );
});

describe('list', () => {
  it("shows an overlay clone's own size and which entries are bases or clones", async () => {
    const cloneId = await cloneOf(baseId);
    const wrote = await runPolythene([
      'exec',
      cloneId,
      '-s',
      store,
      '--',
      'sh',
      '-c',
      'head -c 3000 /dev/zero > /big',
    ]);
    expect(wrote.exitCode, wrote.stderr).toBe(0);
    const listed = await runPolythene(['list', '-s', store, '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    const entries = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    const base = entries.find((entry) => entry.id === baseId);
    const clone = entries.find((entry) => entry.id === cloneId);
    expect(base).toMatchObject({ layout: 'directory', isBase: true, lowerIds: [] });
    expect(clone).toMatchObject({ layout: 'overlay', isBase: false, lowerIds: [baseId] });
    // The clone holds its own 3000 bytes, not the base's megabytes.
    expect(clone?.sizeBytes).toBeGreaterThanOrEqual(3000);
    expect(clone?.sizeBytes).toBeLessThan(100_000);
    expect(base?.sizeBytes).toBeGreaterThan(100_000);

    const table = await runPolythene(['list', '-s', store]);
    const header = table.stdout.split('\n')[0] ?? '';
    expect(header).toMatch(/\bKIND\b/);
    const row = (id: string) => table.stdout.split('\n').find((line) => line.startsWith(id)) ?? '';
    expect(row(baseId)).toMatch(/\bbase\b/);
    expect(row(cloneId)).toMatch(/\bclone\b/);
    expect(row(cloneId)).toMatch(/\b2\.9 KiB\b/);
    expect((await runPolythene(['rm', cloneId, '-s', store])).exitCode).toBe(0);
  });
});

describe('a read-only store', () => {
  it('exec of an overlay clone and --ephemeral: one line saying the store is read-only', async () => {
    const roStore = await freshStorePath();
    const pulled = await runPolythene(['pull', images.busybox, '-s', roStore, '-q']);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const id = pulled.stdout.trim();
    const cloned = await runPolythene(['clone', id, '-s', roStore, '--method', 'overlay']);
    expect(cloned.exitCode, cloned.stderr).toBe(0);
    const cloneId = cloned.stdout.trim();
    await execa('mount', ['--bind', '-o', 'ro', roStore, roStore]);
    try {
      for (const args of [
        ['exec', cloneId, '-s', roStore, '--', 'true'],
        ['exec', id, '-s', roStore, '--ephemeral', '--', 'true'],
      ]) {
        const run = await runPolythene(args);
        expect(run.exitCode, run.stderr).toBe(125);
        const lines = run.stderr.trim().split('\n');
        expect(lines, run.stderr).toHaveLength(1);
        expect(lines[0]).toContain('read-only');
        expect(lines[0]).toContain(roStore);
        expect(lines[0]).not.toMatch(/EROFS|wrong fs type|trying the next backend/);
      }
    } finally {
      await execa('umount', [roStore]);
    }
  });
});
