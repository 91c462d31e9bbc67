import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from './open-store.ts';

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
    while (isRunning) {
      const entries = await store.list();
      for (const entry of entries) expect(entry.status, entry.id).toBe('ok');
      seenEntries += entries.length;
      listings += 1;
    }
    await churn;
    expect(listings).toBeGreaterThan(10);
    expect(seenEntries).toBeGreaterThan(0);
    expect(await store.list()).toEqual([]);
  });
});
