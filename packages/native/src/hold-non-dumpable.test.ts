import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPolytheneError } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import { getDumpableState, holdNonDumpable } from './hold-non-dumpable.ts';

describe('holdNonDumpable', () => {
  it('makes this process non-dumpable while any hold lasts, then restores it', () => {
    expect(getDumpableState()).toBe(1);
    const first = holdNonDumpable();
    const second = holdNonDumpable();
    expect(getDumpableState()).toBe(0);
    first();
    first(); // a second release of the same hold changes nothing
    expect(getDumpableState()).toBe(0);
    second();
    expect(getDumpableState()).toBe(1);
  });

  it('leaves a process that was not dumpable as it was', () => {
    const outer = holdNonDumpable();
    try {
      // A later first hold (after the outer one's start) must not make it dumpable at its end.
      const inner = holdNonDumpable();
      inner();
      expect(getDumpableState()).toBe(0);
    } finally {
      outer();
    }
    expect(getDumpableState()).toBe(1);
  });

  it('names the guarantee when the addon is missing', () => {
    const env = { POLYTHENE_NATIVE_DIR: mkdtempSync(join(tmpdir(), 'native-')) };
    let error: unknown;
    try {
      getDumpableState(env);
    } catch (caught) {
      error = caught;
    }
    expect(isPolytheneError(error) && error.code).toBe('POLYTHENE_SETUP_FAILED');
    expect((error as Error).message).toMatch(/polythene-dumpable is missing.*environment/);
  });
});
