import { execa } from 'execa';

/** One workspace package that is published (not `private`). */
export interface PublishablePackage {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the package's directory. */
  readonly dir: string;
}

interface PnpmListEntry {
  readonly name?: string;
  readonly version?: string;
  readonly path: string;
  readonly private?: boolean;
}

/**
 * The workspace's publishable packages, as pnpm sees the workspace under `root`: every
 * package without `"private": true`, sorted by name.
 */
export async function listPublishablePackages(root: string): Promise<PublishablePackage[]> {
  const { stdout } = await execa('pnpm', ['ls', '--recursive', '--json', '--depth', '-1'], {
    cwd: root,
  });
  const entries = JSON.parse(stdout) as PnpmListEntry[];
  return entries
    .filter((entry) => entry.private !== true && entry.name !== undefined)
    .map((entry) => ({
      name: entry.name ?? '',
      version: entry.version ?? '0.0.0',
      dir: entry.path,
    }))
    .sort((a, b) => a.name.localeCompare(b.name, 'en'));
}
