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
  symlink,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EntryMetadataInput } from './entry-metadata.ts';
import { openStore, type Store } from './open-store.ts';

let base: string;
let store: Store;

const INPUT: EntryMetadataInput = {
  image: 'localhost/polythene-test/busybox:latest',
  origin: { kind: 'pull' },
  digest: 'sha256:abc',
  config: { env: ['PATH=/bin'], cmd: ['sh'] },
};

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'polythene-clone-'));
  store = await openStore(join(base, 'store'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function pullLike(): Promise<string> {
  const entry = await store.createEntry();
  await mkdir(join(entry.path, 'etc'));
  await mkdir(join(entry.path, 'bin'));
  await writeFile(join(entry.path, 'etc/hosts'), 'hosts');
  await writeFile(join(entry.path, 'etc/passwd'), 'root:x:0:0');
  await writeFile(join(entry.path, 'bin/busybox'), 'binary');
  await symlink('busybox', join(entry.path, 'bin/sh'));
  return (await entry.commit(INPUT)).id;
}

describe('diffEntry of a directory entry', () => {
  it('compares the tree with its manifest by a quick check', async () => {
    const id = await pullLike();
    const rootfs = await store.rootfsPath(id);
    expect(await store.diffEntry(id)).toEqual({ added: [], modified: [], deleted: [] });
    await writeFile(join(rootfs, 'etc/hosts'), 'changed hosts');
    await unlink(join(rootfs, 'etc/passwd'));
    await mkdir(join(rootfs, 'etc/new.d'));
    await writeFile(join(rootfs, 'etc/new.d/conf'), '');
    await chmod(join(rootfs, 'bin'), 0o700);
    await unlink(join(rootfs, 'bin/sh'));
    await symlink('/bin/busybox', join(rootfs, 'bin/sh'));
    expect(await store.diffEntry(id)).toEqual({
      added: ['/etc/new.d', '/etc/new.d/conf'],
      modified: ['/bin', '/bin/sh', '/etc/hosts'],
      deleted: ['/etc/passwd'],
    });
  });

  it('lists a deleted directory alone and a type change as modified', async () => {
    const id = await pullLike();
    const rootfs = await store.rootfsPath(id);
    await rm(join(rootfs, 'etc'), { recursive: true });
    await rm(join(rootfs, 'bin'), { recursive: true });
    await writeFile(join(rootfs, 'bin'), 'a file now');
    expect(await store.diffEntry(id)).toEqual({
      added: [],
      modified: ['/bin'],
      deleted: ['/etc'],
    });
  });

  it('documents the quick check: a rewrite keeping size and mtime is not seen', async () => {
    const id = await pullLike();
    const hosts = join(await store.rootfsPath(id), 'etc/hosts');
    // Whole seconds, so that utimes can restore the exact nanoseconds.
    await utimes(hosts, 1_700_000_000, 1_700_000_000);
    const clone = await store.cloneEntry(id, { method: 'copy' });
    const cloneHosts = join(await store.rootfsPath(clone.id), 'etc/hosts');
    await writeFile(cloneHosts, 'HOSTS');
    expect(await store.diffEntry(clone.id)).toMatchObject({ modified: ['/etc/hosts'] });
    await utimes(cloneHosts, 1_700_000_000, 1_700_000_000);
    expect(await store.diffEntry(clone.id)).toEqual({ added: [], modified: [], deleted: [] });
  });

  it('refuses an entry without a manifest, naming the fix', async () => {
    const id = await pullLike();
    await unlink(join(store.dir, `${id}.manifest`));
    await expect(store.diffEntry(id)).rejects.toMatchObject({
      code: 'POLYTHENE_INVALID_ID',
      message: expect.stringContaining('polythene clone'),
    });
  });
});

describe('cloneEntry', () => {
  it('overlay: an empty upper, a work dir and metadata naming the lowers', async () => {
    const parentId = await pullLike();
    const clone = await store.cloneEntry(parentId, { method: 'overlay' });
    expect(clone).toMatchObject({
      image: INPUT.image,
      digest: 'sha256:abc',
      config: INPUT.config,
      origin: { kind: 'clone', parentId },
      layout: 'overlay',
      lowerIds: [parentId],
    });
    expect(await readdir(join(store.dir, clone.id))).toEqual([]);
    expect((await lstat(join(store.dir, `.work-${clone.id}`))).isDirectory()).toBe(true);
    expect(await store.entryLayers(clone.id)).toEqual({
      layout: 'overlay',
      upperDir: join(store.dir, clone.id),
      workDir: join(store.dir, `.work-${clone.id}`),
      lowerDirs: [join(store.dir, parentId)],
    });
    // The same layers with the metadata they were read from, from one read.
    expect(await store.entryLayersAndMetadata(clone.id)).toEqual({
      layers: await store.entryLayers(clone.id),
      metadata: await store.inspect(clone.id),
    });
    expect(await store.entryLayersAndMetadata(parentId)).toEqual({
      layers: { layout: 'directory', rootfs: join(store.dir, parentId) },
      metadata: await store.inspect(parentId),
    });
    expect(await store.diffEntry(clone.id)).toEqual({ added: [], modified: [], deleted: [] });
    const second = await store.cloneEntry(clone.id, { method: 'overlay' });
    expect(second.lowerIds).toEqual([clone.id, parentId]);
    expect(await store.dependentsOf(parentId)).toEqual([clone.id, second.id]);
    expect(await store.dependentsOf(clone.id)).toEqual([second.id]);
    expect((await store.getEntry(second.id)).layout).toBe('overlay');
  });

  it('copy: an independent directory entry with its own manifest', async () => {
    const parentId = await pullLike();
    const clone = await store.cloneEntry(parentId, { method: 'copy' });
    expect(clone).toMatchObject({
      layout: 'directory',
      origin: { kind: 'clone', parentId },
      fileCount: 4,
    });
    expect(clone.lowerIds).toBeUndefined();
    const rootfs = await store.rootfsPath(clone.id);
    expect(await readFile(join(rootfs, 'etc/hosts'), 'utf8')).toBe('hosts');
    await writeFile(join(rootfs, 'etc/hosts'), 'mine');
    expect(await store.diffEntry(clone.id)).toMatchObject({ modified: ['/etc/hosts'] });
    expect(await store.diffEntry(parentId)).toEqual({ added: [], modified: [], deleted: [] });
    expect(await store.dependentsOf(parentId)).toEqual([]);
    await store.remove(parentId);
    expect(await store.inspect(clone.id)).toEqual(clone);
  });

  it('copy of an overlay clone materialises the merged view', async () => {
    const parentId = await pullLike();
    const overlay = await store.cloneEntry(parentId, { method: 'overlay' });
    const upper = await store.rootfsPath(overlay.id);
    await mkdir(join(upper, 'etc'));
    await writeFile(join(upper, 'etc/hosts'), 'upper hosts');
    const copy = await store.cloneEntry(overlay.id, { method: 'copy' });
    const rootfs = await store.rootfsPath(copy.id);
    expect(await readFile(join(rootfs, 'etc/hosts'), 'utf8')).toBe('upper hosts');
    expect(await readFile(join(rootfs, 'etc/passwd'), 'utf8')).toBe('root:x:0:0');
    expect(copy.origin).toEqual({ kind: 'clone', parentId: overlay.id });
  });

  it('refuses an unknown method and a missing source', async () => {
    const id = await pullLike();
    await expect(
      store.cloneEntry(id, { method: 'hardlink' as unknown as 'copy' }),
    ).rejects.toMatchObject({ code: 'POLYTHENE_USAGE' });
    await store.remove(id);
    await expect(store.cloneEntry(id, { method: 'overlay' })).rejects.toMatchObject({
      code: 'POLYTHENE_ROOTFS_NOT_FOUND',
    });
    expect((await readdir(store.dir)).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});

describe('bases, removal and prune', () => {
  it('remove refuses a base, naming its dependents, until they are gone', async () => {
    const parentId = await pullLike();
    const clone = await store.cloneEntry(parentId, { method: 'overlay' });
    await expect(store.remove(parentId)).rejects.toMatchObject({
      code: 'POLYTHENE_ENTRY_IN_USE',
      message: expect.stringContaining(clone.id),
    });
    expect((await store.getEntry(parentId)).status).toBe('ok');
    await store.remove(clone.id);
    expect(await readdir(store.dir)).not.toContain(`.work-${clone.id}`);
    await store.remove(parentId);
    expect(await readdir(store.dir)).toEqual([]);
  });

  it('list marks a clone whose lower was deleted by hand; prune removes it and its work dir', async () => {
    const parentId = await pullLike();
    const clone = await store.cloneEntry(parentId, { method: 'overlay' });
    await rm(join(store.dir, parentId), { recursive: true });
    const byId = new Map((await store.list()).map((entry) => [entry.id, entry]));
    expect(byId.get(clone.id)).toMatchObject({ status: 'missing-lower', layout: 'overlay' });
    expect(byId.get(parentId)?.status).toBe('missing-rootfs');
    expect((await store.getEntry(clone.id)).status).toBe('missing-lower');
    await expect(store.entryLayers(clone.id)).rejects.toMatchObject({
      code: 'POLYTHENE_ROOTFS_NOT_FOUND',
      message: expect.stringContaining(`polythene rm ${clone.id}`),
    });
    const report = await store.prune();
    expect(report).toMatchObject({ removedIds: [clone.id], removedOrphanMetadata: 1 });
    expect(await readdir(store.dir)).toEqual([]);
  });

  it('prune removes old clones before their bases, and keeps a base whose clone stays', async () => {
    const oldBase = await pullLike();
    const oldClone = await store.cloneEntry(oldBase, { method: 'overlay' });
    const keptBase = await pullLike();
    const freshClone = await store.cloneEntry(keptBase, { method: 'overlay' });
    const past = new Date(Date.now() - 3_600_000).toISOString();
    for (const id of [oldBase, oldClone.id, keptBase]) {
      const path = join(store.dir, `${id}.json`);
      const metadata = JSON.parse(await readFile(path, 'utf8'));
      await writeFile(path, JSON.stringify({ ...metadata, createdAt: past }));
    }
    const report = await store.prune({ olderThanMs: 60_000 });
    expect(report.removedIds.sort()).toEqual([oldBase, oldClone.id].sort());
    expect(report.keptBases).toEqual([{ id: keptBase, dependentIds: [freshClone.id] }]);
    expect((await store.list()).map((entry) => entry.id).sort()).toEqual(
      [keptBase, freshClone.id].sort(),
    );
  });

  it('prune reports the base of a clone in use as kept, and the clone as skipped', async () => {
    const baseId = await pullLike();
    const clone = await store.cloneEntry(baseId, { method: 'overlay' });
    const mark = store.markInUse(clone.id);
    try {
      const report = await store.prune({ olderThanMs: 0, now: new Date(Date.now() + 60_000) });
      expect(report).toMatchObject({
        removedIds: [],
        skippedInUse: [{ id: clone.id, pids: [process.pid] }],
        keptBases: [{ id: baseId, dependentIds: [clone.id] }],
      });
      expect((await store.list()).map((entry) => entry.id).sort()).toEqual(
        [baseId, clone.id].sort(),
      );
    } finally {
      mark.release();
    }
  });
});

describe('scratch layers and copies', () => {
  it('a scratch layer lists the lowers, blocks removal of the entry, and goes on dispose', async () => {
    const parentId = await pullLike();
    const clone = await store.cloneEntry(parentId, { method: 'overlay' });
    const scratch = await store.createScratchLayer(clone.id);
    expect(scratch.lowerDirs).toEqual([join(store.dir, clone.id), join(store.dir, parentId)]);
    expect(scratch.upperDir).toMatch(
      new RegExp(`^${store.dir}/\\.scratch-[0-9a-f-]{36}\\.${process.pid}/upper$`),
    );
    expect(await readdir(scratch.upperDir)).toEqual([]);
    expect((await lstat(scratch.workDir)).isDirectory()).toBe(true);
    const scratchDir = join(scratch.upperDir, '..');
    await expect(store.remove(clone.id)).rejects.toMatchObject({
      code: 'POLYTHENE_ENTRY_IN_USE',
      message: expect.stringContaining(`process ${process.pid}`),
    });
    expect(await store.clearStaleTemporaries()).toBe(0);
    await scratch.dispose();
    await scratch.dispose();
    expect((await lstat(scratchDir).catch(() => undefined)) === undefined).toBe(true);
    await store.remove(clone.id);
  });

  it('a scratch copy is a full tree, removed on dispose', async () => {
    const parentId = await pullLike();
    let rootfs: string;
    {
      await using copy = await store.createScratchCopy(parentId);
      rootfs = copy.rootfs;
      expect(await readFile(join(rootfs, 'etc/hosts'), 'utf8')).toBe('hosts');
      await writeFile(join(rootfs, 'etc/hosts'), 'scratch');
    }
    expect(await lstat(rootfs).catch(() => undefined)).toBeUndefined();
    expect(await readFile(join(store.dir, parentId, 'etc/hosts'), 'utf8')).toBe('hosts');
    expect((await readdir(store.dir)).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('a scratch dir left by a dead process is cleared', async () => {
    const parentId = await pullLike();
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    const scratch = await store.createScratchLayer(parentId);
    const stale = join(store.dir, `.scratch-${parentId.replace(/^.{8}/, '00000000')}.${child.pid}`);
    await mkdir(join(stale, 'upper'), { recursive: true });
    await writeFile(join(stale, 'lower-ids'), `${parentId}\n`);
    expect(await store.clearStaleTemporaries()).toBe(1);
    expect(await lstat(stale).catch(() => undefined)).toBeUndefined();
    await scratch.dispose();
    await store.remove(parentId);
  });
});

describe('dependentsOf, by base markers', () => {
  const names = async (): Promise<string[]> => (await readdir(store.dir)).sort();

  it('marks every lower of an overlay clone, so unmarked entries need no scan', async () => {
    const parentId = await pullLike();
    const otherId = await pullLike();
    const clone = await store.cloneEntry(parentId, { method: 'overlay' });
    const second = await store.cloneEntry(clone.id, { method: 'overlay' });
    expect(await names()).toEqual(
      expect.arrayContaining([`.base-${parentId}`, `.base-${clone.id}`]),
    );
    expect(await names()).not.toContain(`.base-${otherId}`);
    expect(await names()).not.toContain(`.base-${second.id}`);
    expect(await store.dependentsOf(parentId)).toEqual([clone.id, second.id]);

    // The proof that an unmarked entry is answered without reading metadata: a clone
    // written by hand (no marker) is not seen. Clones made by the store always mark.
    const forged = await store.cloneEntry(parentId, { method: 'copy' });
    const forgedPath = join(store.dir, `${forged.id}.json`);
    const metadata = JSON.parse(await readFile(forgedPath, 'utf8'));
    await writeFile(forgedPath, JSON.stringify({ ...metadata, lowerIds: [otherId] }));
    expect(await store.dependentsOf(otherId)).toEqual([]);
  });

  it('removes a base marker with its entry, and prune removes an orphan one', async () => {
    const parentId = await pullLike();
    const clone = await store.cloneEntry(parentId, { method: 'overlay' });
    await store.remove(clone.id);
    expect(await store.dependentsOf(parentId)).toEqual([]);
    await store.remove(parentId);
    expect(await names()).toEqual([]);

    const orphanId = '01890a5d-ac96-774b-bcce-b302099a8099';
    await writeFile(join(store.dir, `.base-${orphanId}`), '');
    const report = await store.prune();
    expect(report.removedOrphanMetadata).toBe(1);
    expect(await names()).toEqual([]);
  });
});
