import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPolytheneError } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import { findNativeHelper, requireNativeHelper } from './find-native-helper.ts';

describe('findNativeHelper', () => {
  it('finds an executable helper for this architecture in POLYTHENE_NATIVE_DIR', () => {
    const directory = mkdtempSync(join(tmpdir(), 'native-'));
    const path = join(directory, `tool-${process.arch}`);
    writeFileSync(path, '#!/bin/sh\n');
    chmodSync(path, 0o755);
    expect(findNativeHelper('tool', { POLYTHENE_NATIVE_DIR: directory })).toBe(path);
  });

  it('reports a missing helper as undefined, and requireNativeHelper names the guarantee', () => {
    const env = { POLYTHENE_NATIVE_DIR: mkdtempSync(join(tmpdir(), 'native-')) };
    expect(findNativeHelper('absent', env)).toBeUndefined();
    let error: unknown;
    try {
      requireNativeHelper('absent', 'closing inherited file descriptors', env);
    } catch (caught) {
      error = caught;
    }
    expect(isPolytheneError(error) && error.code).toBe('POLYTHENE_SETUP_FAILED');
    expect((error as Error).message).toMatch(
      /absent is missing.*closing inherited file descriptors/,
    );
  });
});
