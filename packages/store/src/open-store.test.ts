import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkStorePermissions } from './check-store-permissions.ts';
import { newEntryId } from './entry-id.ts';
import type { EntryMetadataInput } from './entry-metadata.ts';
import { openStore, type Store } from './open-store.ts';

let base: string;
let storeDir: string;
let store: Store;

const INPUT: EntryMetadataInput = {
  image: 'localhost/polythene-test/busybox:latest',
  origin: { kind: 'pull' },
  digest: 'sha256:abc',
  architecture: 'amd64',
  os: 'linux',
  config: { env: ['PATH=/bin'], workingDir: '/srv', user: '1000:1000', cmd: ['sh'] },
};

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'polythene-store-'));
  storeDir = join(base, 'parent', 'store');
  store = await openStore(storeDir);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

async function commitEntry(fill?: (path: string) => Promise<void>): Promise<string> {
  const entry = await store.createEntry();
  await mkdir(join(entry.path, 'bin'));
  await writeFile(join(entry.path, 'bin/busybox'), 'binary');
  await fill?.(entry.path);
  return (await entry.commit(INPUT)).id;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid as number;
}

describe('openStore', () => {
  it('creates the store private (0700) and its parents with the usual mode', async () => {
    expect((await stat(storeDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(base, 'parent'))).mode & 0o777).not.toBe(0o700);
    expect(store.dir).toBe(storeDir);
    expect(await checkStorePermissions(storeDir)).toEqual([]);
  });

  it('leaves an existing store as it is and reports a wide mode', async () => {
    await chmod(storeDir, 0o755);
    await openStore(storeDir);
    expect((await stat(storeDir)).mode & 0o777).toBe(0o755);
    expect(await checkStorePermissions(storeDir)).toEqual([expect.stringContaining('chmod 700')]);
  });

  it('reports a missing store (create: false) and a non-directory, naming the fix', async () => {
    await expect(openStore(join(base, 'absent'), { create: false })).rejects.toMatchObject({
      code: 'POLYTHENE_STORE_UNAVAILABLE',
      message: expect.stringContaining('pass --store DIR or set POLYTHENE_STORE'),
    });
    await writeFile(join(base, 'file'), '');
    await expect(openStore(join(base, 'file'))).rejects.toMatchObject({
      code: 'POLYTHENE_STORE_UNAVAILABLE',
    });
    await expect(openStore(join(base, 'file', 'below'))).rejects.toMatchObject({
      code: 'POLYTHENE_STORE_UNAVAILABLE',
    });
  });
});

describe('pending entries', () => {
  it('appear whole on commit: rootfs and metadata, nothing before', async () => {
    const entry = await store.createEntry();
    expect((await stat(entry.path)).mode & 0o777).toBe(0o755);
    expect(entry.path).toBe(join(storeDir, `.tmp-${entry.id}.${process.pid}`));
    await writeFile(join(entry.path, 'hello'), 'hi');
    await symlink('/hello', join(entry.path, 'link'));
    expect(await store.list()).toEqual([]);
    await expect(store.rootfsPath(entry.id)).rejects.toMatchObject({
      code: 'POLYTHENE_ROOTFS_NOT_FOUND',
    });

    const metadata = await entry.commit(INPUT);
    expect(metadata).toMatchObject({
      ...INPUT,
      schemaVersion: 1,
      id: entry.id,
      sizeBytes: 2 + 6,
      fileCount: 2,
    });
    expect(Date.parse(metadata.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await store.rootfsPath(entry.id)).toBe(join(storeDir, entry.id));
    expect(await readFile(join(storeDir, entry.id, 'hello'), 'utf8')).toBe('hi');
    expect(JSON.parse(await readFile(join(storeDir, `${entry.id}.json`), 'utf8'))).toEqual(
      metadata,
    );
    expect(await store.inspect(entry.id)).toEqual(metadata);
    expect(await exists(entry.path)).toBe(false);
    expect((await readdir(storeDir)).sort()).toEqual(
      [entry.id, `${entry.id}.json`, `${entry.id}.manifest`].sort(),
    );
    expect(metadata.layout).toBe('directory');
    expect(await store.list()).toEqual([
      {
        id: entry.id,
        path: join(storeDir, entry.id),
        status: 'ok',
        layout: 'directory',
        metadata,
        createdAt: metadata.createdAt,
        sizeBytes: 8,
      },
    ]);

    await expect(entry.commit(INPUT)).rejects.toMatchObject({ code: 'POLYTHENE_USAGE' });
    await entry.discard();
    expect(await exists(join(storeDir, entry.id))).toBe(true);
  });

  it('discard removes the temporary tree, read-only dirs included, and is idempotent', async () => {
    const entry = await store.createEntry();
    await mkdir(join(entry.path, 'ro'));
    await writeFile(join(entry.path, 'ro/file'), 'x');
    await chmod(join(entry.path, 'ro'), 0o555);
    await entry.discard();
    await entry.discard();
    expect(await readdir(storeDir)).toEqual([]);
    await expect(entry.commit(INPUT)).rejects.toMatchObject({ code: 'POLYTHENE_USAGE' });
  });

  it('await using discards unless committed', async () => {
    let uncommittedPath = '';
    {
      await using entry = await store.createEntry();
      uncommittedPath = entry.path;
      await writeFile(join(entry.path, 'f'), 'x');
    }
    expect(await exists(uncommittedPath)).toBe(false);
    let id = '';
    {
      await using entry = await store.createEntry();
      id = (await entry.commit(INPUT)).id;
    }
    expect(await store.rootfsPath(id)).toBe(join(storeDir, id));
  });

  it('refuses metadata without an image or config.env', async () => {
    const entry = await store.createEntry();
    await expect(
      entry.commit({ origin: { kind: 'pull' } } as unknown as EntryMetadataInput),
    ).rejects.toMatchObject({
      code: 'POLYTHENE_USAGE',
    });
    // Still usable after a refused commit.
    expect((await entry.commit(INPUT)).id).toBe(entry.id);
  });

  it('many concurrent pulls into one store all succeed with distinct ids', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => commitEntry()));
    expect(new Set(ids).size).toBe(20);
    const listed = await store.list();
    expect(listed.map((entry) => entry.id).sort()).toEqual([...ids].sort());
    expect(listed.every((entry) => entry.status === 'ok')).toBe(true);
  });
});

describe('ids and symlinked entries', () => {
  it('validates ids before building any path', async () => {
    for (const bad of ['../x', '/etc', '', '.tmp-x', ' x', 'a/b', 'x'.repeat(65)]) {
      for (const call of [store.rootfsPath, store.inspect, store.remove, store.getEntry]) {
        await expect(call(bad)).rejects.toMatchObject({ code: 'POLYTHENE_INVALID_ID' });
      }
    }
  });

  it('refuses a symlinked entry and leaves its target untouched', async () => {
    const target = join(base, 'target');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'precious');
    const id = newEntryId();
    await symlink(target, join(storeDir, id));
    await writeFile(join(storeDir, `${id}.json`), '{}');
    await expect(store.rootfsPath(id)).rejects.toMatchObject({
      code: 'POLYTHENE_INVALID_ID',
      message: expect.stringContaining('symbolic link'),
    });
    await expect(store.inspect(id)).rejects.toMatchObject({ code: 'POLYTHENE_INVALID_ID' });
    await expect(store.remove(id)).rejects.toMatchObject({ code: 'POLYTHENE_INVALID_ID' });
    await store.prune({ olderThanMs: 0, now: new Date(Date.now() + 86_400_000) });
    expect(await readFile(join(target, 'keep'), 'utf8')).toBe('precious');
    expect(await exists(join(storeDir, id))).toBe(true);
  });

  it('refuses an entry that is a plain file', async () => {
    const id = newEntryId();
    await writeFile(join(storeDir, id), '');
    await expect(store.rootfsPath(id)).rejects.toMatchObject({ code: 'POLYTHENE_INVALID_ID' });
  });
});

describe('remove', () => {
  it('removes rootfs (with read-only dirs) and metadata; a second remove is not found', async () => {
    const id = await commitEntry(async (path) => {
      await mkdir(join(path, 'usr/share'), { recursive: true });
      await writeFile(join(path, 'usr/share/doc'), 'x');
      await chmod(join(path, 'usr/share'), 0o555);
      await chmod(join(path, 'usr'), 0o555);
    });
    await store.remove(id);
    expect(await readdir(storeDir)).toEqual([]);
    await expect(store.remove(id)).rejects.toMatchObject({ code: 'POLYTHENE_ROOTFS_NOT_FOUND' });
    await expect(store.rootfsPath(id)).rejects.toMatchObject({
      code: 'POLYTHENE_ROOTFS_NOT_FOUND',
      message: expect.stringContaining('polythene list'),
    });
  });

  it('of concurrent removals of one id, exactly one succeeds', async () => {
    const id = await commitEntry(async (path) => {
      await Promise.all(
        Array.from({ length: 300 }, (_, index) => writeFile(join(path, `f${index}`), 'x')),
      );
    });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => store.remove(id)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected')
        expect(result.reason).toMatchObject({ code: 'POLYTHENE_ROOTFS_NOT_FOUND' });
    }
    expect(await readdir(storeDir)).toEqual([]);
  });

  it('list never throws while entries are being removed', async () => {
    const ids = await Promise.all(
      Array.from({ length: 5 }, () =>
        commitEntry(async (path) => {
          await Promise.all(
            Array.from({ length: 200 }, (_, index) => writeFile(join(path, `f${index}`), 'x')),
          );
        }),
      ),
    );
    let listings = 0;
    let isRemoving = true;
    const removals = Promise.all(ids.map((id) => store.remove(id))).finally(() => {
      isRemoving = false;
    });
    while (isRemoving) {
      const entries = await store.list();
      expect(entries.every((entry) => entry.status !== 'missing-metadata')).toBe(true);
      listings += 1;
    }
    await removals;
    expect(listings).toBeGreaterThan(0);
    expect(await store.list()).toEqual([]);
  });

  it('removes orphan metadata once', async () => {
    const id = await commitEntry();
    await rm(join(storeDir, id), { recursive: true });
    await store.remove(id);
    await expect(store.remove(id)).rejects.toMatchObject({ code: 'POLYTHENE_ROOTFS_NOT_FOUND' });
  });
});

describe('orphans and damaged entries', () => {
  it('lists rootfs without metadata and metadata without rootfs, with a status', async () => {
    const okId = await commitEntry();
    const orphanId = await commitEntry();
    await rm(join(storeDir, orphanId), { recursive: true });
    const bareId = newEntryId();
    await mkdir(join(storeDir, bareId));
    const old = new Date('2020-01-02T03:04:05.000Z');
    await utimes(join(storeDir, bareId), old, old);
    const corruptId = await commitEntry();
    await writeFile(join(storeDir, `${corruptId}.json`), '{not json');
    await writeFile(join(storeDir, 'unrelated.txt'), '');

    const byId = new Map((await store.list()).map((entry) => [entry.id, entry]));
    expect(byId.size).toBe(4);
    expect(byId.get(okId)?.status).toBe('ok');
    expect(byId.get(orphanId)).toMatchObject({
      status: 'missing-rootfs',
      metadata: { id: orphanId },
    });
    expect(byId.get(bareId)).toEqual({
      id: bareId,
      path: join(storeDir, bareId),
      status: 'missing-metadata',
      layout: 'directory',
      createdAt: old.toISOString(),
    });
    expect(byId.get(corruptId)?.status).toBe('missing-metadata');
    expect((await store.list())[0]?.id).toBe(bareId);

    await expect(store.inspect(bareId)).rejects.toMatchObject({
      code: 'POLYTHENE_INVALID_ID',
      message: expect.stringContaining('no metadata'),
    });
    await expect(store.inspect(corruptId)).rejects.toMatchObject({ code: 'POLYTHENE_INVALID_ID' });
    // Runnable all the same: a plain tree, without metadata.
    for (const id of [bareId, corruptId]) {
      expect(await store.entryLayersAndMetadata(id)).toEqual({
        layers: { layout: 'directory', rootfs: join(storeDir, id) },
        metadata: undefined,
      });
    }
    await expect(store.entryLayersAndMetadata(orphanId)).rejects.toMatchObject({
      code: 'POLYTHENE_ROOTFS_NOT_FOUND',
    });
    await expect(store.inspect(orphanId)).rejects.toMatchObject({
      code: 'POLYTHENE_ROOTFS_NOT_FOUND',
    });
    expect(await store.getEntry(bareId)).toEqual(byId.get(bareId));
    expect(await store.getEntry(orphanId)).toEqual(byId.get(orphanId));
    await expect(store.getEntry(newEntryId())).rejects.toMatchObject({
      code: 'POLYTHENE_ROOTFS_NOT_FOUND',
    });

    const report = await store.prune();
    expect(report).toEqual({
      removedIds: [],
      removedTemporaries: 0,
      removedOrphanMetadata: 1,
      skippedInUse: [],
      keptBases: [],
    });
    expect((await store.list()).map((entry) => entry.id).sort()).toEqual(
      [okId, bareId, corruptId].sort(),
    );
  });

  it('never prunes the metadata of an entry a live pull is committing', async () => {
    const id = newEntryId();
    await mkdir(join(storeDir, `.tmp-${id}.${process.pid}`));
    await writeFile(join(storeDir, `${id}.json`), '{}');
    expect((await store.prune()).removedOrphanMetadata).toBe(0);
    expect(await exists(join(storeDir, `${id}.json`))).toBe(true);
  });
});

describe('stale temporaries', () => {
  it('removes temporaries of dead processes and keeps those of live ones', async () => {
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    try {
      const dead = await deadPid();
      const livePid = live.pid as number;
      const names = {
        liveTmp: `.tmp-${newEntryId()}.${livePid}`,
        liveTrash: `.trash-${newEntryId()}.${livePid}`,
        deadTmp: `.tmp-${newEntryId()}.${dead}`,
        deadTmpJson: `.tmp-${newEntryId()}.${dead}.json`,
        deadTrash: `.trash-${newEntryId()}.${dead}`,
      };
      for (const [key, name] of Object.entries(names)) {
        if (key.endsWith('Json')) {
          await writeFile(join(storeDir, name), '{}');
          continue;
        }
        await mkdir(join(storeDir, name, 'ro'), { recursive: true });
        await writeFile(join(storeDir, name, 'ro/file'), 'x');
        await chmod(join(storeDir, name, 'ro'), 0o555);
      }
      expect(await store.list()).toEqual([]);
      expect(await store.clearStaleTemporaries()).toBe(3);
      expect((await readdir(storeDir)).sort()).toEqual([names.liveTmp, names.liveTrash].sort());
      expect(await store.clearStaleTemporaries()).toBe(0);
    } finally {
      live.kill();
    }
  });

  it('prune reports stale temporaries it removed', async () => {
    await mkdir(join(storeDir, `.tmp-${newEntryId()}.${await deadPid()}`));
    expect(await store.prune()).toEqual({
      removedIds: [],
      removedTemporaries: 1,
      removedOrphanMetadata: 0,
      skippedInUse: [],
      keptBases: [],
    });
  });
});

describe('prune by age', () => {
  it('removes entries older than the limit by createdAt, else rootfs mtime', async () => {
    const id = await commitEntry();
    const bareId = newEntryId();
    await mkdir(join(storeDir, bareId));
    const now = Date.now();
    expect(await store.prune({ olderThanMs: 3_600_000, now: new Date(now + 1_800_000) })).toEqual({
      removedIds: [],
      removedTemporaries: 0,
      removedOrphanMetadata: 0,
      skippedInUse: [],
      keptBases: [],
    });
    expect((await store.list()).length).toBe(2);

    const tenDaysAgo = new Date(now - 10 * 86_400_000);
    await utimes(join(storeDir, bareId), tenDaysAgo, tenDaysAgo);
    expect((await store.prune({ olderThanMs: 7 * 86_400_000 })).removedIds).toEqual([bareId]);
    expect((await store.list()).map((entry) => entry.id)).toEqual([id]);

    expect(
      (await store.prune({ olderThanMs: 3_600_000, now: new Date(now + 7_200_000) })).removedIds,
    ).toEqual([id]);
    expect(await readdir(storeDir)).toEqual([]);
  });
});
