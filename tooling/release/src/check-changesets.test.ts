import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findUnknownChangesetPackages, readChangesetPackages } from './check-changesets.ts';
import { listPublishablePackages } from './list-publishable-packages.ts';

const root = resolve(import.meta.dirname, '..', '..', '..');

describe('the pending changesets', () => {
  it('name only packages of this workspace (the CLI is "@polythene/cli", not "polythene")', async () => {
    const names = new Set((await listPublishablePackages(root)).map((pkg) => pkg.name));
    expect(names).toContain('@polythene/cli');
    const changesets = await readChangesetPackages(root);
    expect(changesets.size).toBeGreaterThan(0);
    expect(findUnknownChangesetPackages(changesets, names)).toEqual([]);
  });
});

describe('findUnknownChangesetPackages', () => {
  it('names the file and the package that does not exist', () => {
    const changesets = new Map([
      ['a.md', ['@polythene/cli', 'polythene']],
      ['b.md', ['@polythene/store']],
    ]);
    expect(
      findUnknownChangesetPackages(changesets, new Set(['@polythene/cli', '@polythene/store'])),
    ).toEqual(['.changeset/a.md: no package is named "polythene"']);
  });
});
