import { findUsernsHelper } from '@polythene/probe';
import { describe, expect, it } from 'vitest';
import { createBwrapBackend } from './create-bwrap-backend.ts';

describe('createBwrapBackend', () => {
  it('fingerprints the polythene-userns helper its probe stores the path of', () => {
    const helper = findUsernsHelper();
    expect(helper).toMatch(/\/polythene-userns-(x64|arm64)$/);
    // An absolute path: the probe cache fingerprints that file, so a cached probe from an
    // install that has since moved (its helper path gone) is not used.
    expect(createBwrapBackend().binaries).toContain(helper);
  });
});
