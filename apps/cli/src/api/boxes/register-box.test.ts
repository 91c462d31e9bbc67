import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStartTime } from '@polythene/core/internal/boxes/box-state';
import { newEntryId } from '@polythene/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerBox } from './register-box.ts';

// Registering boxes in a real directory: names are claimed under the boxes' lock.

let storeDir: string;

beforeEach(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'polythene-register-box-'));
});

afterEach(async () => {
  await rm(storeDir, { recursive: true, force: true });
});

function record(name: string | undefined) {
  return {
    id: newEntryId(),
    ...(name === undefined ? {} : { name }),
    entry: newEntryId(),
    started: new Date().toISOString(),
    starterPid: process.pid,
    starterStartTime: readStartTime(process.pid),
  };
}

describe('registerBox', () => {
  it('gives a name to one of many registrations at once, refusing the others', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, () => registerBox(storeDir, record('web'))),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toMatchObject({ code: 'POLYTHENE_USAGE' });
        expect(String(outcome.reason.message)).toMatch(
          /^--name web: box \S+ already has that name/,
        );
      }
    }
    const boxes = (await readdir(join(storeDir, '.boxes'))).filter((name) => !name.startsWith('.'));
    expect(boxes).toHaveLength(1);
  });

  it('registers unnamed boxes side by side, and a name again once its box is gone', async () => {
    await Promise.all([
      registerBox(storeDir, record(undefined)),
      registerBox(storeDir, record(undefined)),
    ]);
    const first = record('db');
    await registerBox(storeDir, first);
    await rm(join(storeDir, '.boxes', first.id), { recursive: true });
    await registerBox(storeDir, record('db'));
    const boxes = (await readdir(join(storeDir, '.boxes'))).filter((name) => !name.startsWith('.'));
    expect(boxes).toHaveLength(3);
  });
});
