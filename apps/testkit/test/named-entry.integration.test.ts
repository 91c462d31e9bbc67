import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pull } from '@polythene/cli';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { polythene } from '../src/index.ts';

let work: string;
let store: string;
let id: string;

beforeAll(async () => {
  const { busybox } = await ensureTestImages();
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-named-'));
  store = join(work, 'store');
  id = (await pull({ image: busybox, store, name: 'prepared' })).id;
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('polythene.entry', () => {
  it('hands out boxes over a named entry, which stays untouched', async () => {
    const entry = await polythene.entry('prepared', { store, boxMethod: 'copy' });
    expect(entry.id).toBe(id);
    {
      await using box = await entry.box();
      await box.writeFile('/etc/box-only', 'x');
      expect(await box.exists('/etc/box-only')).toBe(true);
    }
    await using second = await entry.box();
    expect(await second.exists('/etc/box-only')).toBe(false);
    expect((await polythene.entry(id, { store })).id).toBe(id);
  });

  it('refuses a name no entry has', async () => {
    await expect(polythene.entry('missing', { store })).rejects.toMatchObject({
      code: 'POLYTHENE_ROOTFS_NOT_FOUND',
    });
  });
});
