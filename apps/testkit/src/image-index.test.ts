import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { IMAGE_INDEX_NAME, readImageIndex, writeImageIndex } from './image-index.ts';
import { resolveTestRunId } from './resolve-test-run-id.ts';

let store: string;
beforeEach(async () => {
  store = await mkdtemp(join(tmpdir(), 'polythene-image-index-'));
});
afterEach(async () => {
  await rm(store, { recursive: true, force: true });
});

it('round-trips records and leaves no temporary behind', async () => {
  const record = { id: '01a20915-64ef-746a-8f11-ca7c05694e45', runId: '1@2', pulledAt: 'now' };
  await writeImageIndex(store, { busybox: record });
  expect(await readImageIndex(store)).toEqual({ busybox: record });
  expect(await readdir(store)).toEqual([IMAGE_INDEX_NAME]);
});

it('treats a missing or corrupt index as empty, dropping malformed records', async () => {
  expect(await readImageIndex(store)).toEqual({});
  await writeFile(join(store, IMAGE_INDEX_NAME), '{ not json');
  expect(await readImageIndex(store)).toEqual({});
  await writeFile(
    join(store, IMAGE_INDEX_NAME),
    JSON.stringify({ images: { good: { id: 'a', runId: 'b', pulledAt: 'c' }, bad: { id: 1 } } }),
  );
  expect(await readImageIndex(store)).toEqual({ good: { id: 'a', runId: 'b', pulledAt: 'c' } });
});

it('names the run by POLYTHENE_TESTKIT_RUN_ID, else by the vitest main process', () => {
  expect(resolveTestRunId({ POLYTHENE_TESTKIT_RUN_ID: 'ci-42' })).toBe('ci-42');
  const runId = resolveTestRunId({});
  // This file runs in a forked vitest worker: the run is its parent's, with a start time.
  expect(runId).toMatch(new RegExp(`^${process.ppid}@\\d+$`));
  expect(resolveTestRunId({})).toBe(runId);
});
