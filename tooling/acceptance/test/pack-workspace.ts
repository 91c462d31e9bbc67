// Global set-up: packs every publishable package of the workspace once per run, at the
// versions it has now, and hands the tarballs to the tests (`inject('packed')`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { listPublishablePackages, type PackedPackage, packPackages } from '@polythene/release';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    packed: PackedPackage[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // ACCEPTANCE_WORKSPACE: pack another checkout (built) instead of this one.
  const root = process.env.ACCEPTANCE_WORKSPACE ?? resolve(import.meta.dirname, '..', '..', '..');
  const outDir = await mkdtemp(join(tmpdir(), 'polythene-acceptance-packs-'));
  const packed = await packPackages(await listPublishablePackages(root), outDir);
  project.provide('packed', packed);
  return async () => {
    await rm(outDir, { recursive: true, force: true });
  };
}
