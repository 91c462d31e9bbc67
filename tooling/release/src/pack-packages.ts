import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { PublishablePackage } from './list-publishable-packages.ts';

/** One packed package: its tarball in the release folder. */
export interface PackedPackage {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the `.tgz`. */
  readonly tarball: string;
}

/** How many `pnpm pack` run at once: the machine's two cores are shared. */
const PACK_CONCURRENCY = 2;

/**
 * Packs each package with `pnpm pack` into `outDir`: `workspace:` and `catalog:` ranges become
 * the real versions, and `publishConfig.executableFiles` keep their executable bit. The
 * packages must be built.
 */
export async function packPackages(
  packages: readonly PublishablePackage[],
  outDir: string,
): Promise<PackedPackage[]> {
  await mkdir(outDir, { recursive: true });
  const packed: PackedPackage[] = [];
  const queue = [...packages];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      packed.push(await packOne(next, outDir));
    }
  };
  await Promise.all(Array.from({ length: PACK_CONCURRENCY }, worker));
  return packed.sort((a, b) => a.name.localeCompare(b.name, 'en'));
}

async function packOne(pkg: PublishablePackage, outDir: string): Promise<PackedPackage> {
  const { stdout } = await execa('pnpm', ['pack', '--json', '--pack-destination', outDir], {
    cwd: pkg.dir,
  });
  const result = JSON.parse(stdout) as { filename?: string };
  // pnpm names the tarball `<scope>-<name>-<version>.tgz` in the destination.
  const tarball =
    result.filename ??
    join(outDir, `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`);
  return { name: pkg.name, version: pkg.version, tarball };
}
