import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The package names in the front matter of each pending changeset under `<root>/.changeset`
 * (`"name": bump` lines between the `---` fences), by file name.
 */
export async function readChangesetPackages(root: string): Promise<Map<string, string[]>> {
  const dir = join(root, '.changeset');
  const result = new Map<string, string[]>();
  for (const file of (await readdir(dir)).sort()) {
    if (!file.endsWith('.md') || file === 'README.md') continue;
    const text = await readFile(join(dir, file), 'utf8');
    const frontMatter = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? '';
    const names = frontMatter
      .split('\n')
      .map((line) => /^\s*(["']?)([^"':\s]+)\1\s*:/.exec(line)?.[2])
      .filter((name): name is string => name !== undefined);
    result.set(file, names);
  }
  return result;
}

/**
 * One line per changeset that names a package the workspace does not have (a renamed or
 * removed one): `changeset version` refuses the whole release over it.
 */
export function findUnknownChangesetPackages(
  changesets: ReadonlyMap<string, readonly string[]>,
  packageNames: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const [file, names] of changesets) {
    for (const name of names) {
      if (!packageNames.has(name))
        problems.push(`.changeset/${file}: no package is named "${name}"`);
    }
  }
  return problems;
}
