import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTestImages, type TestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  listLabelledContainers,
  listStoreNames,
  runPolythene,
  UUID_PATTERN,
} from './run-polythene.ts';

// The Python tool's black-box tests (leynos/polythene tests/test_polythene.py and the BDD
// scenario "Executing with a missing rootfs"), rewritten against our binary, and the rest of
// its command-line contract: short flags, POLYTHENE_TIMEOUT (on exec and pull), hand-made
// entries.

let images: TestImages;
let store: string;
let id: string;

beforeAll(async () => {
  images = await ensureTestImages();
  store = await freshStorePath();
  const pull = await runPolythene(['pull', images.busybox, '-s', store, '-q']);
  expect(pull.stderr).toBe('');
  expect(pull.exitCode).toBe(0);
  id = pull.stdout.trim();
});

describe("the Python tool's black-box tests", () => {
  it('1. exec of a missing entry exits 1 with "No such UUID rootfs"', async () => {
    const run = await runPolythene(['exec', 'missing', '--store', store, '--', 'true']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('No such UUID rootfs');
  });

  it('2. scenario "Executing with a missing rootfs": a clean store, the same answer', async () => {
    const clean = await freshStorePath();
    await mkdir(clean, { recursive: true });
    const run = await runPolythene(['exec', 'missing', '--store', clean, '--', 'true']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('No such UUID rootfs');
  });

  it('3. exec ENTRY -- without a command exits 2 with "No command provided"', async () => {
    const own = await freshStorePath();
    await mkdir(join(own, 'uuid-empty'), { recursive: true });
    const run = await runPolythene(['exec', 'uuid-empty', '--store', own, '--']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('No command provided');
  });

  it('4. an unknown --isolation exits 2 naming the valid backends', async () => {
    const own = await freshStorePath();
    await mkdir(join(own, 'uuid-unknown'), { recursive: true });
    const run = await runPolythene([
      'exec',
      'uuid-unknown',
      '--store',
      own,
      '--isolation',
      'unknown',
      '--',
      'true',
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/unknown.*bwrap.*proot.*chroot/);
  });

  it.each(['bubblewrap', 'proot'])(
    '5-6. --isolation=%s is accepted and the command runs',
    async (backend) => {
      const run = await runPolythene([
        'exec',
        id,
        '--store',
        store,
        `--isolation=${backend}`,
        '--',
        'echo',
        'ran',
      ]);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toBe('ran\n');
      const missing = await runPolythene([
        'exec',
        'missing',
        '--store',
        store,
        `--isolation=${backend}`,
        '--',
        'true',
      ]);
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toContain('No such UUID rootfs');
    },
  );
});

describe('short flags and POLYTHENE_TIMEOUT', () => {
  it('takes -s on every command, -t and -i on exec', async () => {
    const run = await runPolythene([
      'exec',
      id,
      '-s',
      store,
      '-t',
      '20',
      '-i',
      'proot',
      '--',
      'echo',
      'x',
    ]);
    expect(run).toMatchObject({ exitCode: 0, stdout: 'x\n' });
    const listed = await runPolythene(['list', '-s', store, '--json']);
    expect(listed.exitCode).toBe(0);
    expect(JSON.parse(listed.stdout).map((entry: { id: string }) => entry.id)).toContain(id);
    const inspected = await runPolythene(['inspect', id, '-s', store]);
    expect(inspected.exitCode).toBe(0);
    const bad = await runPolythene(['exec', id, '-s', store, '-i', 'nope', '--', 'true']);
    expect(bad.exitCode).toBe(2);
  });

  it('POLYTHENE_TIMEOUT bounds exec; --timeout wins over it', async () => {
    const startedMs = Date.now();
    const run = await runPolythene(['exec', id, '-s', store, '--', 'sleep', '8'], {
      env: { POLYTHENE_TIMEOUT: '1' },
    });
    expect(run.exitCode).toBe(124);
    expect(Date.now() - startedMs).toBeLessThan(6000);
    const flagWins = await runPolythene(['exec', id, '-s', store, '-t', '30', '--', 'sleep', '2'], {
      env: { POLYTHENE_TIMEOUT: '1' },
    });
    expect(flagWins.exitCode).toBe(0);
    const bad = await runPolythene(['exec', id, '-s', store, '--', 'true'], {
      env: { POLYTHENE_TIMEOUT: 'soon' },
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('POLYTHENE_TIMEOUT');
  });

  it('-t and POLYTHENE_TIMEOUT bound pull (exit 124, nothing left); the flag wins', async () => {
    const before = await listLabelledContainers();
    // A pull of the local image takes far more than 50 ms (several podman runs).
    const byFlag = await freshStorePath();
    const flagRun = await runPolythene(['pull', images.busybox, '-s', byFlag, '-t', '0.05', '-q']);
    expect(flagRun.exitCode, flagRun.stderr).toBe(124);
    expect(flagRun.stdout).toBe('');
    expect(flagRun.stderr.trim().split('\n')).toHaveLength(1);
    expect(await listStoreNames(byFlag)).toEqual([]);

    const byEnv = await freshStorePath();
    const envRun = await runPolythene(['pull', images.busybox, '-s', byEnv, '-q'], {
      env: { POLYTHENE_TIMEOUT: '0.05' },
    });
    expect(envRun.exitCode, envRun.stderr).toBe(124);
    expect(envRun.stdout).toBe('');
    expect(envRun.stderr.trim().split('\n')).toHaveLength(1);
    expect(await listStoreNames(byEnv)).toEqual([]);
    expect(await listLabelledContainers()).toEqual(before);

    const flagWins = await runPolythene(['pull', images.busybox, '-s', byEnv, '-t', '120', '-q'], {
      env: { POLYTHENE_TIMEOUT: '0.05' },
    });
    expect(flagWins.exitCode, flagWins.stderr).toBe(0);
    expect(flagWins.stdout.trim()).toMatch(UUID_PATTERN);

    const bad = await runPolythene(['pull', images.busybox, '-s', byEnv, '-q'], {
      env: { POLYTHENE_TIMEOUT: 'soon' },
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('POLYTHENE_TIMEOUT');
  });

  it.each([
    [['pull', '-v', 'busybox']],
    [['pull', 'busybox', '--version']],
    [['exec', 'x', '-v', '--', 'true']],
    [['list', '-v']],
    [['rm', 'x', '-x']],
  ])('%j is a usage error, not a silent success', async (args) => {
    const run = await runPolythene([...args, '-s', store]);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('hand-made entries', () => {
  it('runs, lists, survives prune and is removed by rm, by name', async () => {
    const own = await freshStorePath();
    const pulled = await runPolythene(['pull', images.busybox, '-s', own, '-q']);
    // As scripts around the Python tool did: a rootfs copied in by hand, no metadata.
    await execa('cp', ['-a', join(own, pulled.stdout.trim()), join(own, 'tools')]);
    const run = await runPolythene(['exec', 'tools', '-s', own, '--', 'echo', 'made by hand']);
    expect(run).toMatchObject({ exitCode: 0, stdout: 'made by hand\n' });
    const listed = JSON.parse((await runPolythene(['list', '-s', own, '--json'])).stdout) as {
      id: string;
      status: string;
    }[];
    expect(listed.find((entry) => entry.id === 'tools')?.status).toBe('hand-made');
    const pruned = await runPolythene(['prune', '-s', own, '--older-than', '0s']);
    expect(pruned.exitCode).toBe(0);
    expect(await readdir(own)).toContain('tools');
    expect((await runPolythene(['rm', 'tools', '-s', own])).exitCode).toBe(0);
    expect(await readdir(own)).not.toContain('tools');
  });

  it.each(['.tmp-x', '_x', 'a/b', 'a'.repeat(65), '0190A3C4-5B6D-7E8F-9A0B-1C2D3E4F5A6B'])(
    'refuses the name %j as an entry',
    async (name) => {
      const run = await runPolythene(['exec', name, '-s', store, '--', 'true']);
      expect(run.exitCode).toBe(2);
    },
  );
});
