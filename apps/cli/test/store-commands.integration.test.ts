import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages, type TestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, listStoreNames, runPolythene } from './run-polythene.ts';

let images: TestImages;

beforeAll(async () => {
  images = await ensureTestImages();
});

async function pullInto(store: string): Promise<string> {
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode).toBe(0);
  return run.stdout.trim();
}

describe('polythene list / inspect / rm / prune', () => {
  it('lists entries with id, image, created and size, and shows orphans without crashing', async () => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    const orphanRootfs = '01890a5d-ac96-774b-bcce-b302099a8057';
    const orphanMetadata = '01890a5d-ac96-774b-bcce-b302099a8058';
    await mkdir(join(store, orphanRootfs));
    await writeFile(join(store, `${orphanMetadata}.json`), '{"schemaVersion":1}');
    const table = await runPolythene(['ls', '--store', store]);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+IMAGE\s+CREATED\s+SIZE$/m);
    expect(table.stdout).toContain(id);
    expect(table.stdout).toContain(images.busybox);
    const json = await runPolythene(['list', '--store', store, '--json']);
    const entries = JSON.parse(json.stdout) as {
      id: string;
      status: string;
      image: string | null;
    }[];
    expect(entries.find((entry) => entry.id === id)).toMatchObject({
      status: 'ok',
      image: images.busybox,
    });
    expect(entries.find((entry) => entry.id === orphanRootfs)?.status).toBe('missing-metadata');
    expect(entries.find((entry) => entry.id === orphanMetadata)?.status).toBe('missing-rootfs');
  });

  it('lists an empty store as just the header', async () => {
    const run = await runPolythene(['list', '--store', await freshStorePath()]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('removes entries, including read-only directories inside the image', async () => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    const locked = join(store, id, 'locked');
    await mkdir(join(locked, 'inner'), { recursive: true });
    await writeFile(join(locked, 'inner', 'file'), 'x');
    await chmod(join(locked, 'inner'), 0o555);
    await chmod(locked, 0o555);
    const run = await runPolythene(['rm', id, '--store', store]);
    expect(run.exitCode).toBe(0);
    expect(await listStoreNames(store)).toEqual([]);
  });

  it('never follows a symlink out of the rootfs while removing', async () => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    const outside = await mkdtemp(join(tmpdir(), 'polythene-outside-'));
    await writeFile(join(outside, 'precious'), 'keep me');
    await symlink(outside, join(store, id, 'escape'));
    await symlink(join(outside, 'precious'), join(store, id, 'escape-file'));
    expect((await runPolythene(['rm', id, '--store', store])).exitCode).toBe(0);
    expect(await readdir(outside)).toEqual(['precious']);
    await rm(outside, { recursive: true });
  });

  it.each([
    ['../x', 2],
    ['/etc', 2],
    ['', 2],
    ['not a uuid', 2],
    ['0190A3C4-5B6D-7E8F-9A0B-1C2D3E4F5A6B', 2],
    // A valid hand-made entry's name that names nothing, as a missing UUID.
    ['not-a-uuid', 1],
    ['01890a5d-ac96-774b-bcce-b302099a8099', 1],
  ])('refuses id %j with exit %i before touching anything', async (badId, exitCode) => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    const before = await listStoreNames(store);
    for (const command of [
      ['rm', badId, '--store', store],
      ['inspect', badId, '--store', store],
      ['exec', badId, '--store', store, '--', '/bin/true'],
    ]) {
      const run = await runPolythene(command);
      expect(run.exitCode, command.join(' ')).toBe(exitCode);
      expect(run.stderr.trim().split('\n'), command.join(' ')).toHaveLength(1);
      expect(run.stderr).toMatch(/^polythene: /);
    }
    // A bad id in the middle of a list removes nothing.
    expect((await runPolythene(['rm', id, badId, '--store', store])).exitCode).toBe(exitCode);
    expect(await listStoreNames(store)).toEqual(before);
  });

  it('refuses an entry that is a symlink, and leaves its target alone', async () => {
    const store = await freshStorePath();
    const id = await pullInto(store);
    const target = join(store, id);
    const linked = '01890a5d-ac96-774b-bcce-b302099a8077';
    await symlink(target, join(store, linked));
    for (const command of [
      ['rm', linked, '--store', store],
      ['inspect', linked, '--store', store],
      ['exec', linked, '--store', store, '--', '/bin/true'],
    ]) {
      const run = await runPolythene(command);
      expect(run.exitCode, command.join(' ')).toBe(2);
      expect(run.stderr).toContain(linked);
    }
    expect(existsSync(join(target, 'bin', 'busybox'))).toBe(true);
  });

  it('prunes entries older than a duration, orphans and stale temporaries', async () => {
    const store = await freshStorePath();
    const oldId = await pullInto(store);
    const newId = await pullInto(store);
    // Make the first entry look ten days old, in its metadata and on disk.
    const metadataPath = join(store, `${oldId}.json`);
    const metadata = JSON.parse(
      await import('node:fs/promises').then((fs) => fs.readFile(metadataPath, 'utf8')),
    );
    metadata.createdAt = new Date(Date.now() - 10 * 86_400_000).toISOString();
    await writeFile(metadataPath, JSON.stringify(metadata));
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    await utimes(join(store, oldId), tenDaysAgo, tenDaysAgo);
    // A temporary left by a pull that was SIGKILLed (its pid is gone).
    await mkdir(join(store, '.tmp-01890a5d-ac96-774b-bcce-b302099a8011.999999999'));
    const run = await runPolythene(['prune', '--older-than', '7d', '--store', store, '--json']);
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.removedIds).toEqual([oldId]);
    expect(report.removedTemporaries).toBe(1);
    expect(await listStoreNames(store)).toEqual(
      [newId, `${newId}.json`, `${newId}.manifest`].sort(),
    );
  });

  it('refuses a malformed --older-than', async () => {
    const run = await runPolythene([
      'prune',
      '--older-than',
      'a while',
      '--store',
      await freshStorePath(),
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('a while');
  });
});
