import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { checkPackedManifests } from './check-packed-manifests.ts';
import { copyWorkspace } from './copy-workspace.ts';
import { listPublishablePackages } from './list-publishable-packages.ts';
import { type PackedPackage, packPackages } from './pack-packages.ts';

/** Options of {@link release}. */
export interface ReleaseOptions {
  /** The workspace root. */
  readonly root: string;
  /**
   * Version and pack in a temporary copy of the workspace, leaving `root` untouched; the
   * copy is removed afterwards unless `keep` is set.
   */
  readonly dryRun?: boolean;
  /** With `dryRun`: keep the temporary copy (its path is in the result). */
  readonly keep?: boolean;
  /**
   * Where the tarballs go, emptied first (default `<root>/release`; a dry run without it
   * packs into the temporary copy, and keeps no tarball unless `keep` is set).
   */
  readonly outDir?: string;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** What {@link release} did. */
export interface ReleaseResult {
  /** The workspace that was versioned: `root`, or the temporary copy of a dry run. */
  readonly workspace: string;
  readonly outDir: string;
  readonly packages: readonly PackedPackage[];
}

/**
 * The release path: `changeset version` (versions and changelogs from the pending
 * changesets), a build of every package at its new version, and `pnpm pack` of each
 * publishable package into one folder: the tarballs a user installs, and the ones
 * `changeset publish` sends once the scope is on the registry.
 */
export async function release(options: ReleaseOptions): Promise<ReleaseResult> {
  const log = options.log ?? (() => {});
  const workspace = options.dryRun ? await copyWorkspace(options.root) : options.root;
  const run = async (file: string, args: readonly string[]): Promise<void> => {
    log(`$ ${[file, ...args].join(' ')}`);
    await execa(file, args, { cwd: workspace, stdout: 'ignore', stderr: 'pipe' });
  };
  try {
    if (options.dryRun) {
      log(`dry run in ${workspace}`);
      await run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline']);
    }
    await run('pnpm', ['exec', 'changeset', 'version']);
    await run('pnpm', ['build', '--output-logs=errors-only']);
    const outDir = options.outDir ?? join(workspace, 'release');
    await rm(outDir, { recursive: true, force: true });
    const packages = await packPackages(await listPublishablePackages(workspace), outDir);
    for (const pkg of packages) log(`packed ${pkg.name}@${pkg.version}: ${pkg.tarball}`);
    const problems = await checkPackedManifests(packages);
    if (problems.length > 0)
      throw new Error(`the packed packages are not installable:\n${problems.join('\n')}`);
    return { workspace, outDir, packages };
  } finally {
    if (options.dryRun && !options.keep) await rm(workspace, { recursive: true, force: true });
  }
}
