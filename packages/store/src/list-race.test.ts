import { promises as fsPromises, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isEntryId } from './entry-id.ts';
import { createEntryLister } from './list-store-entries.ts';
import { openStore, type Store } from './open-store.ts';
import { createEntryReader } from './store-entries.ts';
import { createStoreLayout } from './store-layout.ts';

// `list` racing entries being created and removed: it never shows a half-made or
// half-removed entry, and never throws.

let base: string;
let store: Store;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'polythene-list-race-'));
  store = await openStore(join(base, 'store'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function commitOne(): Promise<string> {
  const entry = await store.createEntry();
  await writeFile(join(entry.path, 'file'), 'x');
  const metadata = await entry.commit({
    image: 'race',
    origin: { kind: 'pull' },
    architecture: 'amd64',
    os: 'linux',
    config: { env: [] },
  });
  return metadata.id;
}

describe('list during creation and removal', () => {
  it('shows only whole entries while others are committed and removed', async () => {
    let isRunning = true;
    const churn = (async () => {
      const deadlineMs = Date.now() + 1500;
      while (Date.now() < deadlineMs) {
        const ids = await Promise.all([commitOne(), commitOne(), commitOne()]);
        await Promise.all(ids.map((id) => store.remove(id)));
      }
    })().finally(() => {
      isRunning = false;
    });
    let listings = 0;
    let seenEntries = 0;
    const statuses: string[] = [];
    try {
      while (isRunning) {
        const entries = await store.list();
        for (const entry of entries) {
          if (entry.status !== 'ok') statuses.push(`${entry.id}: ${entry.status}`);
        }
        seenEntries += entries.length;
        listings += 1;
      }
    } finally {
      await churn;
    }
    expect(statuses).toEqual([]);
    expect(listings).toBeGreaterThan(10);
    expect(seenEntries).toBeGreaterThan(0);
    expect(await store.list()).toEqual([]);
  });
});

describe('list racing one removal between its reads', () => {
  it('skips an entry whose rootfs and metadata go away after its rootfs was seen', async () => {
    const id = await commitOne();
    const kept = await commitOne();
    const layout = createStoreLayout(join(base, 'store'));
    const reader = createEntryReader(layout);
    // The removal lands after list has seen the rootfs and before it reads the metadata:
    // the window the churn test above hits only now and then.
    const racingReader = {
      ...reader,
      readMetadata: async (entryId: string) => {
        if (entryId === id) await store.remove(id);
        return reader.readMetadata(entryId);
      },
    };
    const entries = await createEntryLister(layout, racingReader)();
    expect(entries.map((entry) => [entry.id, entry.status])).toEqual([[kept, 'ok']]);
  });
});

describe('list at every step of a creation', () => {
  // Every rename the store makes is followed, before anything else runs, by a look at the
  // store: the raw directory (a rootfs never without its metadata) and `list` through a
  // hooked reader that records what it was asked. A commit that renamed the rootfs into place
  // first would show, right after that rename, a rootfs without metadata.
  async function watchCreation(create: () => Promise<string>): Promise<void> {
    const storeDir = join(base, 'store');
    const layout = createStoreLayout(storeDir);
    const reader = createEntryReader(layout);
    const metadataReads: string[] = [];
    const hookedReader = {
      ...reader,
      readMetadata: (entryId: string) => {
        metadataReads.push(entryId);
        return reader.readMetadata(entryId);
      },
    };
    const list = createEntryLister(layout, hookedReader);
    const problems: string[] = [];
    let metadataBeforeRootfs = 0;
    const rename = fsPromises.rename;
    const spy = vi.spyOn(fsPromises, 'rename').mockImplementation(async (from, to) => {
      await rename(from, to);
      const names = new Set(readdirSync(storeDir));
      for (const name of names) {
        if (isEntryId(name) && !names.has(`${name}.json`))
          problems.push(`after renaming to ${to}: rootfs ${name} without metadata`);
      }
      for (const name of names) {
        const id = name.slice(0, -'.json'.length);
        if (name.endsWith('.json') && isEntryId(id) && !names.has(id)) metadataBeforeRootfs += 1;
      }
      for (const entry of await list()) {
        if (entry.status !== 'ok') problems.push(`after renaming to ${to}: ${entry.status}`);
      }
    });
    let id: string;
    try {
      id = await create();
    } finally {
      spy.mockRestore();
    }
    expect(problems).toEqual([]);
    // The look between the two renames happened, and list read the entry's metadata.
    expect(metadataBeforeRootfs).toBeGreaterThan(0);
    expect(metadataReads).toContain(id);
    expect((await store.getEntry(id)).status).toBe('ok');
  }

  it('a pull-like commit', async () => {
    await watchCreation(commitOne);
  });

  it.each(['copy', 'overlay'] as const)('a clone by %s', async (method) => {
    const parentId = await commitOne();
    await watchCreation(async () => (await store.cloneEntry(parentId, { method })).id);
  });
});
