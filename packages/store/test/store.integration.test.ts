import { chmod, chown, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureTestUser, runAsTestUser } from '@polythene/test-images';
import { describe, expect, it } from 'vitest';
import { openStore, removeTree } from '../src/index.ts';

const isRoot = process.getuid?.() === 0;
const fixture = resolve(import.meta.dirname, 'fixtures/unprivileged-store.ts');
// The workspace's tsx runs the fixture from source, so this test does not depend on a build.
const tsx = resolve(import.meta.dirname, '../../../node_modules/.bin/tsx');

describe.skipIf(!isRoot)(
  'the store as an unprivileged user (needs root to create the test user)',
  () => {
    it('creates a private store, commits, discards and removes trees with read-only dirs', async () => {
      const user = await ensureTestUser();
      const result = await runAsTestUser([tsx, fixture], { timeoutMs: 60_000 });
      const report = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(report).toEqual({
        uid: user.uid,
        // Shows why removeTree exists: a plain recursive rm fails on 0555 directories.
        fsRmError: 'EACCES',
        plainRemoved: true,
        storeMode: '700',
        listedStatus: ['ok'],
        inspectedId: expect.any(String),
        afterRemove: [],
        secondRemove: 'POLYTHENE_ROOTFS_NOT_FOUND',
      });
    });

    it('a store private to root is reported unavailable to the user, naming the fix', async () => {
      const base = await mkdtemp(join(tmpdir(), 'polythene-store-root-'));
      try {
        await chmod(base, 0o755);
        const rootStore = await openStore(join(base, 'store'));
        const result = await runAsTestUser([tsx, fixture, 'open', rootStore.dir], {
          timeoutMs: 60_000,
        });
        const outcome = JSON.parse(result.stdout) as string;
        expect(outcome).toMatch(/^POLYTHENE_STORE_UNAVAILABLE: store .* permission denied/);
        expect(outcome).toContain('pass --store DIR or set POLYTHENE_STORE');
      } finally {
        await removeTree(base);
      }
    });

    it('concurrent pulls from several processes into one store all succeed with distinct ids', async () => {
      const user = await ensureTestUser();
      const base = await mkdtemp(join(tmpdir(), 'polythene-store-shared-'));
      await chown(base, user.uid, user.gid);
      const storeDir = join(base, 'store');
      try {
        const outputs = await Promise.all(
          Array.from({ length: 4 }, () =>
            runAsTestUser([tsx, fixture, 'commit', storeDir], { timeoutMs: 60_000 }),
          ),
        );
        const ids = outputs.flatMap((output) => JSON.parse(output.stdout) as string[]);
        expect(ids).toHaveLength(20);
        expect(new Set(ids).size).toBe(20);
        expect((await readdir(storeDir)).filter((name) => name.startsWith('.'))).toEqual([]);
        // Root can list what the user made, but refuses to change a store the user owns
        // (the user could swap its paths under root's feet); removeTree below cleans up.
        const store = await openStore(storeDir, { create: false, access: 'read' });
        expect((await store.list()).map((entry) => entry.id).sort()).toEqual([...ids].sort());
        await expect(openStore(storeDir, { create: false })).rejects.toThrow(
          `is owned by uid ${user.uid}`,
        );
      } finally {
        await removeTree(base);
      }
    });
  },
);

describe('removeTree as root', () => {
  it('removes a wide tree completely, like fs.rm', async () => {
    const { mkdir, writeFile, rm } = await import('node:fs/promises');
    const makeTree = async (root: string): Promise<void> => {
      for (let dir = 0; dir < 40; dir += 1) {
        await mkdir(join(root, `d${dir}`), { recursive: true });
        await Promise.all(
          Array.from({ length: 100 }, (_, file) =>
            writeFile(join(root, `d${dir}`, `f${file}`), 'x'),
          ),
        );
      }
    };
    const base = await mkdtemp(join(tmpdir(), 'polythene-rm-bench-'));
    try {
      await makeTree(join(base, 'a'));
      await makeTree(join(base, 'b'));
      await rm(join(base, 'a'), { recursive: true });
      await removeTree(join(base, 'b'));
      expect(await readdir(base)).toEqual([]);
    } finally {
      await removeTree(base);
    }
  });
});
