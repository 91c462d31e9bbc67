import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  type TestUser,
} from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  type PolytheneRun,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

// Hostile images, made by editing a pulled busybox entry the way an image author could ship
// it. Each world (root, the unprivileged test user) gets its own store.
interface World {
  readonly name: 'root' | 'unprivileged';
  readonly backends: readonly string[];
  readonly store: string;
  run(args: readonly string[]): Promise<PolytheneRun>;
}

let user: TestUser;
const worlds: World[] = [];

beforeAll(async () => {
  user = await ensureTestUser();
  const rootImages = await ensureTestImages();
  const userImages = await ensureTestImagesAs(user);
  const rootStore = await freshStorePath('polythene-hostile-');
  const userStore = removeWhenDone(`/tmp/polythene-hostile-${process.pid}-${Date.now()}`);
  // Its own probe cache: a run elsewhere under a seccomp filter must not decide for this one.
  const cacheHome = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-hostile-cache-')));
  worlds.push(
    {
      name: 'root',
      backends: ['bwrap', 'proot', 'chroot'],
      store: rootStore,
      run: (args) => runPolythene(args, { env: { XDG_CACHE_HOME: cacheHome } }),
    },
    {
      name: 'unprivileged',
      backends: ['bwrap', 'proot'],
      store: userStore,
      run: (args) => runPolytheneAs(args),
    },
  );
  const images = { root: rootImages.busybox, unprivileged: userImages.busybox };
  for (const world of worlds) imageOf.set(world, images[world.name]);
}, 300_000);

const imageOf = new Map<World, string>();

/** A fresh entry in the world's store, edited by `makeHostile` (as root) before any run. */
async function hostileEntry(
  world: World,
  makeHostile: (rootfs: string) => Promise<void>,
): Promise<string> {
  const pulled = await world.run([
    'pull',
    imageOf.get(world) as string,
    '--store',
    world.store,
    '--quiet',
  ]);
  expect(pulled.exitCode, pulled.stderr).toBe(0);
  const id = pulled.stdout.trim();
  await makeHostile(join(world.store, id));
  return id;
}

/** A host directory anyone may write in, where an escaping mount target would appear. */
async function victimDir(): Promise<string> {
  const dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-victim-')));
  await chmod(dir, 0o777);
  return dir;
}

describe('a hostile image never chooses the weaker backend', () => {
  for (const name of ['root', 'unprivileged'] as const) {
    it(`${name}: an image whose /proc is a file makes the set-up fail: exit 125 naming bwrap, and no other backend runs the command`, async () => {
      const world = worlds.find((candidate) => candidate.name === name) as World;
      const id = await hostileEntry(world, async (rootfs) => {
        await rm(join(rootfs, 'proc'), { recursive: true, force: true });
        await symlink('/bin/busybox', join(rootfs, 'proc'));
      });
      const run = await world.run(['exec', id, '--store', world.store, '--', 'echo', 'RAN']);
      expect(run.exitCode, run.stderr).toBe(125);
      expect(run.stdout).not.toContain('RAN');
      expect(run.stderr).toContain('bwrap');
      expect(run.stderr).not.toContain('trying the next backend');
      expect(run.stderr).not.toMatch(/proot|chroot/);
      // One line saying why, not the same reason twice.
      expect(run.stderr).not.toMatch(/could not set up the sandbox \(.*could not set up/);
    });

    it(`${name}: with each backend, a set-up failure the image causes is 125 and never falls back`, async () => {
      const world = worlds.find((candidate) => candidate.name === name) as World;
      const id = await hostileEntry(world, async (rootfs) => {
        await rm(join(rootfs, 'proc'), { recursive: true, force: true });
        await symlink('/bin/busybox', join(rootfs, 'proc'));
        await rm(join(rootfs, 'dev'), { recursive: true, force: true });
        await symlink('/bin/busybox', join(rootfs, 'dev'));
      });
      for (const backend of world.backends) {
        const run = await world.run([
          'exec',
          id,
          '--store',
          world.store,
          '--isolation',
          backend,
          '--json',
          '--',
          'echo',
          'RAN',
        ]);
        expect(run.stderr, backend).not.toContain('trying the next backend');
        if (run.exitCode === 0) {
          // A backend that copes with the odd tree still runs the command itself.
          expect(JSON.parse(run.stdout).backend, backend).toBe(backend);
        } else {
          expect(run.exitCode, `${backend}: ${run.stderr}`).toBe(125);
          expect(run.stdout).not.toContain('RAN');
        }
      }
    });
  }
});

describe('bind destinations never leave the rootfs', () => {
  for (const name of ['root', 'unprivileged'] as const) {
    it(`${name}: image symlinks at bind destinations create nothing on the host, on every backend`, async () => {
      const world = worlds.find((candidate) => candidate.name === name) as World;
      const victim = await victimDir();
      const source = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-bind-src-')));
      await writeFile(join(source, 'marker'), 'from the host\n');
      await chmod(source, 0o755);
      await chmod(join(source, 'marker'), 0o644);
      const id = await hostileEntry(world, async (rootfs) => {
        // Each symlink leads to an existing host directory, where a backend following it
        // would create the missing mount target.
        await rm(join(rootfs, 'root'), { recursive: true, force: true });
        // bwrap resolves targets under its own root, where the host's root is /oldroot.
        await symlink(`/oldroot${victim}`, join(rootfs, 'root'));
        await mkdir(join(rootfs, 'mnt'), { recursive: true });
        await symlink(victim, join(rootfs, 'mnt', 'data'));
        await symlink(`../../../../../../../../..${victim}`, join(rootfs, 'opt'));
        await symlink('/oldroot/var', join(rootfs, 'workspace'));
      });
      for (const backend of world.backends) {
        const run = await world.run([
          'exec',
          id,
          '--store',
          world.store,
          '--isolation',
          backend,
          '--bind',
          `${source}:/root/by-oldroot`,
          '--bind',
          `${source}:/mnt/data/absolute`,
          '--bind',
          `/etc/hostname:/opt/relative-file`,
          '--bind',
          `${source}:/opt/relative`,
          '--workspace',
          source,
          '--',
          'cat',
          '/root/by-oldroot/marker',
          '/mnt/data/absolute/marker',
          '/opt/relative/marker',
          '/workspace/marker',
        ]);
        expect(await readdir(victim), `${backend}: ${run.stderr}`).toEqual([]);
        if (run.exitCode === 0) {
          // The bind is where the image's symlink points inside the rootfs, so the command
          // finds it through the symlink, as after a chroot.
          expect(run.stdout.trimEnd()).toBe('from the host\n'.repeat(4).trimEnd());
        } else {
          expect(run.exitCode, `${backend}: ${run.stderr}`).toBe(125);
          expect(run.stderr.trim().split('\n')).toHaveLength(1);
        }
      }
    });

    it(`${name}: a bind destination that resolves into /proc is refused with exit 125`, async () => {
      const world = worlds.find((candidate) => candidate.name === name) as World;
      const source = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-bind-src-')));
      await chmod(source, 0o755);
      const id = await hostileEntry(world, async (rootfs) => {
        await rm(join(rootfs, 'root'), { recursive: true, force: true });
        await symlink('/proc/self/root/etc', join(rootfs, 'root'));
      });
      for (const backend of world.backends) {
        const run = await world.run([
          'exec',
          id,
          '--store',
          world.store,
          '--isolation',
          backend,
          '--bind',
          `${source}:/root`,
          '--',
          'true',
        ]);
        expect(run.exitCode, `${backend}: ${run.stderr}`).toBe(125);
        expect(run.stderr).toContain('/root');
      }
    });
  }
});

describe('--isolation is a preference, and fallback is only for an unavailable backend', () => {
  it('passes proot over for an overlay clone with one warning naming why, and --strict refuses (125)', async () => {
    const world = worlds.find((candidate) => candidate.name === 'root') as World;
    const id = await hostileEntry(world, async () => {});
    const cloned = await world.run(['clone', id, '--store', world.store, '--method', 'overlay']);
    expect(cloned.exitCode, cloned.stderr).toBe(0);
    const clone = cloned.stdout.trim();
    const run = await world.run([
      'exec',
      clone,
      '--store',
      world.store,
      '--isolation',
      'proot',
      '--json',
      '--',
      'true',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).backend).not.toBe('proot');
    const warnings = run.stderr.split('\n').filter((line) => line.includes('proot'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('proot cannot mount an overlay root');
    const verbose = await runPolythene(
      ['exec', clone, '--store', world.store, '--isolation', 'proot', '--', 'true'],
      { env: { POLYTHENE_VERBOSE: '1' } },
    );
    expect(verbose.stderr).not.toContain('set-up failure');
    const strict = await world.run([
      'exec',
      clone,
      '--store',
      world.store,
      '--isolation',
      'proot',
      '--strict',
      '--',
      'true',
    ]);
    expect(strict.exitCode, strict.stderr).toBe(125);
    expect(strict.stderr).toContain('proot cannot mount an overlay root');
    await world.run(['rm', clone, '--store', world.store]);
  });

  it('says "bubblewrap unavailable: falling back to proot" under POLYTHENE_VERBOSE when bwrap cannot run here', async () => {
    const world = worlds.find((candidate) => candidate.name === 'unprivileged') as World;
    const id = await hostileEntry(world, async () => {});
    const run = await runPolytheneAs(['exec', id, '--store', world.store, '--', 'true'], {
      env: { POLYTHENE_VERBOSE: '1' },
      refuseUserNamespaces: true,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain('bubblewrap unavailable: falling back to proot');
  });
});

describe('a backend whose set-up fails', () => {
  it('is the answer (125) while it is available here; only one gone from the host since its cached probe is fallen back past', async () => {
    const world = worlds.find((candidate) => candidate.name === 'root') as World;
    const id = await hostileEntry(world, async () => {});
    const dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-flaky-backend-')));
    const gone = join(dir, 'gone');
    const module = join(dir, 'flaky.mjs');
    // Available until the file `gone` exists; its run always fails to set up.
    await writeFile(
      module,
      `import { existsSync } from 'node:fs';
export default () => ({
  name: 'flaky',
  description: 'fails every set-up',
  async probe() {
    return existsSync(${JSON.stringify(gone)})
      ? { available: false, reason: 'flaky: its tool was removed' }
      : { available: true, guarantees: [], lost: {}, details: {} };
  },
  async run() {
    throw Object.assign(new Error('flaky: the image broke the set-up'), {
      code: 'POLYTHENE_SETUP_FAILED',
      [Symbol.for('polythene.error')]: true,
    });
  },
});
`,
    );
    const exec = () =>
      world.run([
        'exec',
        id,
        '--store',
        world.store,
        '--backend-module',
        module,
        '--isolation',
        'flaky',
        '--json',
        '--',
        'true',
      ]);
    // Probed now, and cached: the set-up failure is the answer.
    const failed = await exec();
    expect(failed.exitCode, failed.stderr).toBe(125);
    expect(failed.stderr).toContain('the image broke the set-up');
    expect(failed.stderr).not.toContain('trying the next backend');
    // Again from the cache: probed afresh, still available here, still 125.
    expect((await exec()).exitCode).toBe(125);
    // The host lost it since: the fresh probe says so, and the next backend runs the command.
    await writeFile(gone, '');
    const fellBack = await exec();
    expect(fellBack.exitCode, fellBack.stderr).toBe(0);
    expect(JSON.parse(fellBack.stdout).backend).toBe('bwrap');
    expect(fellBack.stderr).toContain('its tool was removed');
  });
});
