import { execa } from 'execa';
import type { PackedPackage } from './pack-packages.ts';

const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

/** The `package.json` inside a packed tarball. */
export async function readPackedManifest(tarball: string): Promise<Record<string, unknown>> {
  const { stdout } = await execa('tar', ['-xzOf', tarball, 'package/package.json']);
  return JSON.parse(stdout) as Record<string, unknown>;
}

/**
 * What is wrong with the packed tarballs as a set a user installs, one line per problem
 * (empty when nothing is): a `workspace:`, `catalog:`, `file:` or `link:` range left in a
 * dependency, or a dependency on one of the set's packages that its packed version does not
 * satisfy (a `^x.y.z` range or an exact version).
 */
export async function checkPackedManifests(packages: readonly PackedPackage[]): Promise<string[]> {
  const versions = new Map(packages.map((pkg) => [pkg.name, pkg.version]));
  const problems: string[] = [];
  for (const pkg of packages) {
    const manifest = await readPackedManifest(pkg.tarball);
    if (manifest.name !== pkg.name || manifest.version !== pkg.version) {
      problems.push(`${pkg.tarball}: holds ${String(manifest.name)}@${String(manifest.version)}`);
    }
    for (const field of DEPENDENCY_FIELDS) {
      const ranges = (manifest[field] ?? {}) as Record<string, string>;
      for (const [name, range] of Object.entries(ranges)) {
        if (/^(workspace|catalog|file|link):/.test(range)) {
          problems.push(`${pkg.name}: ${field} ${name} is still "${range}"`);
          continue;
        }
        const version = versions.get(name);
        if (version !== undefined && range !== version && range !== `^${version}`) {
          problems.push(
            `${pkg.name}: ${field} ${name} "${range}" does not match the packed ${version}`,
          );
        }
      }
    }
  }
  return problems;
}
