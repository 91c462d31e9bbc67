import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ensureTestImages,
  type LoopbackRegistry,
  startLoopbackRegistry,
  type TestImages,
} from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  listLabelledContainers,
  listStoreNames,
  runPolythene,
  startPolythene,
  UUID_PATTERN,
} from './run-polythene.ts';

let images: TestImages;

beforeAll(async () => {
  images = await ensureTestImages();
});

describe('polythene pull', () => {
  it('exports a local image and prints only the UUID on stdout', async () => {
    const store = await freshStorePath();
    const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const id = run.stdout.trim();
    expect(run.stdout).toBe(`${id}\n`);
    expect(id).toMatch(UUID_PATTERN);
    expect(existsSync(join(store, id, 'bin', 'busybox'))).toBe(true);
    // The store is private to its owner: setuid files inside are unreachable to others.
    expect((await stat(store)).mode & 0o777).toBe(0o700);
    const metadata = JSON.parse(await readFile(join(store, `${id}.json`), 'utf8'));
    expect(metadata).toMatchObject({ id, image: images.busybox });
    expect(await listStoreNames(store)).toEqual([id, `${id}.json`, `${id}.manifest`].sort());
  });

  it('honours POLYTHENE_STORE, and --store wins over it', async () => {
    const fromEnv = await freshStorePath();
    const fromFlag = await freshStorePath();
    const viaEnv = await runPolythene(['pull', images.busybox, '--quiet'], {
      env: { POLYTHENE_STORE: fromEnv },
    });
    expect(viaEnv.exitCode).toBe(0);
    expect(await listStoreNames(fromEnv)).toContain(viaEnv.stdout.trim());
    const viaFlag = await runPolythene(['pull', images.busybox, '--quiet', '--store', fromFlag], {
      env: { POLYTHENE_STORE: fromEnv },
    });
    expect(viaFlag.exitCode).toBe(0);
    expect(await listStoreNames(fromFlag)).toContain(viaFlag.stdout.trim());
    expect(await listStoreNames(fromEnv)).not.toContain(viaFlag.stdout.trim());
  });

  it('records the image config for exec (Env, WorkingDir, User, Entrypoint, Cmd)', async () => {
    const store = await freshStorePath();
    const run = await runPolythene(['pull', images.configured, '--store', store, '--json']);
    expect(run.exitCode).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ image: images.configured, path: join(store, summary.id) });
    expect(summary.sizeBytes).toBeGreaterThan(0);
    expect(summary.fileCount).toBeGreaterThan(0);
    const inspected = await runPolythene(['inspect', summary.id, '--store', store]);
    expect(inspected.exitCode).toBe(0);
    const metadata = JSON.parse(inspected.stdout);
    expect(metadata.config.env).toContain('GREETING=hello');
    expect(metadata.config.workingDir).toBe('/srv/app');
    expect(metadata.config.user).toBe('1000:1000');
    expect(metadata.config.entrypoint).toEqual(['/bin/sh', '-c']);
    expect(metadata.config.cmd).toEqual(['echo configured']);
    expect(metadata.architecture).toBeTruthy();
  });

  it.each([
    ['oci-archive', () => images.ociArchive],
    ['docker-archive', () => images.dockerArchive],
    ['oci', () => images.ociLayout],
    ['dir', () => images.dirTransport],
    ['containers-storage', () => `containers-storage:${images.busybox}`],
  ])('pulls from the %s transport', async (_name, ref) => {
    const store = await freshStorePath();
    const run = await runPolythene(['pull', ref(), '--store', store, '--quiet']);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(existsSync(join(store, run.stdout.trim(), 'bin', 'sh'))).toBe(true);
  });

  it('logs each step to stderr with POLYTHENE_VERBOSE, keeping stdout the UUID', async () => {
    const store = await freshStorePath();
    const run = await runPolythene(['pull', images.busybox, '--store', store], {
      env: { POLYTHENE_VERBOSE: '1' },
    });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toMatch(UUID_PATTERN);
    expect(run.stderr).toMatch(/^polythene \d{4}-\d\d-\d\dT[\d:.]+Z /m);
  });

  it('gives every concurrent pull of the same image its own entry', async () => {
    const store = await freshStorePath();
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        runPolythene(['pull', images.busybox, '--store', store, '--quiet']),
      ),
    );
    for (const run of runs) expect(run.exitCode).toBe(0);
    const ids = runs.map((run) => run.stdout.trim());
    expect(new Set(ids).size).toBe(4);
    expect(await listStoreNames(store)).toEqual(
      ids.flatMap((id) => [id, `${id}.json`, `${id}.manifest`]).sort(),
    );
  });
});

describe('polythene pull from a registry on loopback', () => {
  let registry: LoopbackRegistry;
  beforeAll(async () => {
    registry = await startLoopbackRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pulls a registry reference with --pull always', async () => {
    const store = await freshStorePath();
    const run = await runPolythene(
      ['pull', registry.busyboxRef, '--store', store, '--pull', 'always', '--json'],
      {
        env: registry.podmanEnv,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(existsSync(join(store, summary.id, 'bin', 'busybox'))).toBe(true);
  });

  it('fails cleanly when the registry is down: exit 1, one line, store and podman unchanged', async () => {
    const store = await freshStorePath();
    const deadRef = `127.0.0.1:9/polythene-test/busybox:latest`;
    const before = await listLabelledContainers();
    const run = await runPolythene(
      ['pull', deadRef, '--store', store, '--pull', 'always', '--quiet'],
      {
        env: registry.podmanEnv,
      },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^polythene: /);
    expect(await listStoreNames(store)).toEqual([]);
    expect(await listLabelledContainers()).toEqual(before);
  });
});

describe('polythene pull from a registry that requires authentication', () => {
  let registry: LoopbackRegistry;
  beforeAll(async () => {
    registry = await startLoopbackRegistry({ requireAuth: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('reports the refusal in one line, exit 1, with the store and podman unchanged', async () => {
    const store = await freshStorePath();
    const before = await listLabelledContainers();
    const run = await runPolythene(
      ['pull', registry.busyboxRef, '--store', store, '--pull', 'always', '--quiet'],
      {
        env: registry.podmanEnv,
      },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^polythene: .*(unauthorized|authentication required)/i);
    expect(run.stderr).toContain('podman login');
    expect(await listStoreNames(store)).toEqual([]);
    expect(await listLabelledContainers()).toEqual(before);
  });
});

describe('polythene pull failures leave nothing behind', () => {
  it('refuses references podman would read as options, before running podman', async () => {
    const store = await freshStorePath();
    for (const ref of ['--help=x', '-v', 'busy box', 'bad\u0007ref', 'a'.repeat(5000)]) {
      const run = await runPolythene(['pull', '--store', store, '--quiet', '--', ref]);
      expect(run.exitCode, ref).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(await listStoreNames(store)).toEqual([]);
    }
  });

  it('reports a missing local image with --pull never: exit 1 and an empty store', async () => {
    const store = await freshStorePath();
    const run = await runPolythene([
      'pull',
      'localhost/polythene-test/does-not-exist:latest',
      '--store',
      store,
      '--pull',
      'never',
      '--quiet',
    ]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^polythene: .*does-not-exist.*\n$/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(await listStoreNames(store)).toEqual([]);
  });

  it('says which package to install when podman is missing: exit 1, store unchanged', async () => {
    const store = await freshStorePath();
    const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet'], {
      env: { PATH: '/nonexistent' },
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^polythene: .*podman/);
    expect(run.stderr).toContain('install the Debian package podman');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(await listStoreNames(store)).toEqual([]);
  });

  it('refuses an unknown --pull policy as a usage error', async () => {
    const run = await runPolythene(['pull', images.busybox, '--pull', 'sometimes']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--pull sometimes: expected one of always, missing, never');
  });

  it('gives up at --timeout with exit 124 and cleans up', async () => {
    const store = await freshStorePath();
    const before = await listLabelledContainers();
    const run = await runPolythene([
      'pull',
      images.busybox,
      '--store',
      store,
      '--timeout',
      '0.05',
      '--quiet',
    ]);
    expect(run.exitCode).toBe(124);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(await listStoreNames(store)).toEqual([]);
    expect(await listLabelledContainers()).toEqual(before);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)(
    'on %s exits %i and leaves no entry, temporary or container',
    async (signal, exitCode) => {
      const store = await freshStorePath();
      const before = await listLabelledContainers();
      const child = startPolythene(['pull', images.busybox, '--store', store, '--quiet']);
      // Wait until the pull is under way: its temporary entry exists.
      const deadline = Date.now() + 60_000;
      while (
        !(await listStoreNames(store)).some((name) => name.startsWith('.tmp-')) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      child.kill(signal);
      const result = await child;
      expect(result.exitCode).toBe(exitCode);
      expect(String(result.stdout)).toBe('');
      expect(await listStoreNames(store)).toEqual([]);
      expect(await listLabelledContainers()).toEqual(before);
    },
  );
});
