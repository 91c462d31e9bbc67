import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@polythene/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canRunOverlayHere } from '../store-operations.ts';
import { exec } from './exec.ts';

let store: string;
beforeEach(() => {
  store = mkdtempSync(join(tmpdir(), 'polythene-core-args-'));
});
afterEach(() => {
  rmSync(store, { recursive: true, force: true });
});

// What a caller meets before any entry is read: usage errors naming the right form, and the
// packages to install when no backend was given.
describe('exec arguments', () => {
  it('refuses the argv-first guess without options as usage, naming both forms', async () => {
    const error = await exec('debian' as never).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'POLYTHENE_USAGE' });
    expect(String(error)).toContain("exec(idOrName, ['echo', 'hi'], options)");
  });

  it('refuses a non-array command and a missing id with a PolytheneError, not a TypeError', async () => {
    for (const call of [
      () => exec({ id: 'x', command: 'echo hi' } as never),
      () => exec({ command: ['echo'] } as never),
      () => exec(42 as never),
      () => exec('x', ['echo'], 'oops' as never),
    ]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'POLYTHENE_USAGE' });
      expect(String(error)).toContain("exec({ id, command: ['echo', 'hi'] })");
    }
  });

  it('says "No command provided" for an empty command, in both forms', async () => {
    for (const call of [
      () => exec({ id: 'x', command: [], store }),
      () => exec('x', [], { store }),
      () => exec('x', [''], { store }),
    ]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'POLYTHENE_USAGE' });
      expect(String(error)).toContain('No command provided: polythene exec');
    }
  });

  it('without backends, names the backend packages to install', async () => {
    // A real (tiny) entry, so that exec gets as far as choosing a backend.
    const pending = await (await openStore(store)).createEntry();
    await mkdir(join(pending.path, 'bin'));
    const entry = await pending.commit({
      image: 'localhost/polythene-test/empty:latest',
      origin: { kind: 'pull' },
      digest: 'sha256:abc',
      config: { env: ['PATH=/bin'], cmd: ['sh'] },
    });
    for (const backends of [undefined, []]) {
      const error = await exec(entry.id, ['true'], {
        store,
        ...(backends === undefined ? {} : { backends }),
        hostEnv: { PATH: process.env.PATH },
      }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'POLYTHENE_NO_BACKEND' });
      for (const name of ['@polythene/backend-bwrap', '@polythene/backend-proot']) {
        expect(String(error)).toContain(name);
      }
    }
  });

  it('canRunOverlayHere is false with no backend (clone then copies)', async () => {
    expect(await canRunOverlayHere({ hostEnv: {} })).toBe(false);
  });
});
