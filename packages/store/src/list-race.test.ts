import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
