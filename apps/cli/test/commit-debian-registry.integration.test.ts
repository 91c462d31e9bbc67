// Issue 19's registry round trip on a real image: Debian bookworm, a real package installed in
// the box by dpkg, `commit`, `podman push` to a loopback registry with auth, then a pull into
// the unprivileged test user's store. Inside the box, both worlds list the same owners and
// modes, the config is the same, and the package's binary runs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ensureDebCache,
  ensureDebianImage,
  ensureTestUser,
  type LoopbackRegistry,
  runAsTestUser,
  startLoopbackRegistry,
  writeRegistryAuthFile,
} from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  type PolytheneRun,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

const isRoot = process.getuid?.() === 0;
const hasDebootstrap =
  (await execa('debootstrap', ['--version'], { reject: false })).exitCode === 0;

// Every path of the box's own tree with its numeric owner, group and mode (not `/`, /proc or
// /dev, which the box makes).
const listingScript = `find / -xdev \\( -path /proc -o -path /dev \\) -prune -o -printf '%U %G %m %p\\n' | grep -v ' /$' | LC_ALL=C sort`;

function expectOk(run: PolytheneRun): string {
  expect(run.exitCode, run.stderr).toBe(0);
  return run.stdout.trim();
}

describe.skipIf(!isRoot || !hasDebootstrap)(
  'polythene commit of a Debian entry with a package installed, shared through a registry',
  () => {
    let registry: LoopbackRegistry;
    const pushedRef = () => `${registry.host}/polythene-test/debian-hello:${process.pid}`;

    beforeAll(async () => {
      registry = await startLoopbackRegistry({ requireAuth: true });
    }, 300_000);
    afterAll(async () => {
      if (registry) {
        await execa('podman', ['rmi', '--force', pushedRef()], { reject: false });
        // The test user's pull left the name in its own podman storage.
        await runAsTestUser(['podman', 'rmi', '--ignore', pushedRef()], {
          cwd: '/tmp',
          reject: false,
        });
        await registry.stop();
      }
    });

    it('keeps owners, modes and config, and the package runs for the unprivileged user', async () => {
      const image = await ensureDebianImage();
      const debs = await ensureDebCache(['hello']);
      const store = await freshStorePath('polythene-commit-debian-');
      const rootId = expectOk(
        await runPolythene(['pull', '--name', 'prep', image.ref, '--store', store, '-q']),
      );
      const installed = await runPolythene([
        'exec',
        'prep',
        '--store',
        store,
        '--bind',
        `${debs.dir}:/debs:ro`,
        '--',
        'sh',
        '-c',
        'dpkg -i /debs/hello_*.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; exit 3; }; hello',
      ]);
      expect(expectOk(installed)).toBe('Hello, world!');
      // An owner other than root, made in the box, must survive the trip too.
      expectOk(
        await runPolythene([
          'exec',
          'prep',
          '--store',
          store,
          '--',
          'sh',
          '-c',
          'mkdir -p /var/lib/prepared && chown 1234:staff /var/lib/prepared && chmod 2750 /var/lib/prepared',
        ]),
      );
      const rootListing = expectOk(
        await runPolythene(['exec', 'prep', '--store', store, '--', 'sh', '-c', listingScript]),
      );
      expect(rootListing).toMatch(/^0 0 755 \/usr\/bin\/hello$/m);
      expect(rootListing).toMatch(/^1234 50 2750 \/var\/lib\/prepared$/m);

      expectOk(await runPolythene(['commit', 'prep', pushedRef(), '--store', store]));
      const login = await writeRegistryAuthFile(registry);
      removeWhenDone(login.dir);
      const env = login.env;
      const pushed = await execa('podman', ['push', '--quiet', pushedRef()], {
        env,
        reject: false,
      });
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      await execa('podman', ['rmi', pushedRef()], { reject: false });

      await ensureTestUser();
      const userStore = removeWhenDone(`/tmp/polythene-commit-debian-${process.pid}-${Date.now()}`);
      const pulled = await runPolytheneAs(['pull', pushedRef(), '--store', userStore, '-q'], {
        env,
      });
      const userId = expectOk(pulled);
      const userListing = expectOk(
        await runPolytheneAs([
          'exec',
          userId,
          '--store',
          userStore,
          '--',
          'sh',
          '-c',
          listingScript,
        ]),
      );
      expect(userListing.split('\n').length).toBeGreaterThan(1000);
      expect(userListing).toBe(rootListing);
      const config = async (dir: string, id: string) =>
        JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')).config;
      expect(await config(userStore, userId)).toEqual(await config(store, rootId));
      const ran = await runPolytheneAs(['exec', userId, '--store', userStore, '--', 'hello']);
      expect(expectOk(ran)).toBe('Hello, world!');
    });
  },
);
