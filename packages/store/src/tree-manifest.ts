import type { BigIntStats } from 'node:fs';
import { promises as fs } from 'node:fs';
import { PolytheneError } from '@polythene/errors';
import { type TreeDiff, toAbsolute } from './diff-layers.ts';
import { parentOf } from './layer-lookup.ts';
import type { ScannedPath } from './scan-tree.ts';
import { scanTree } from './scan-tree.ts';

// zlib is loaded on first use: `polythene exec` loads this package but never a manifest. Not
// by `import()`: the CLI runs this code from a V8 code cache, where `import()` is unavailable.
const loadZlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');

async function gzipAsync(text: string, options: { level: number }): Promise<Buffer> {
  const { gzip } = loadZlib();
  return new Promise((resolve, reject) =>
    gzip(text, options, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

async function gunzipAsync(data: Buffer): Promise<Buffer> {
  const { gunzip } = loadZlib();
  return new Promise((resolve, reject) =>
    gunzip(data, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

// Format: gzip of UTF-8 lines, the first `polythene-manifest 1`, then one per path:
//   type TAB mode(octal) TAB uid TAB gid TAB size TAB mtimeNs TAB linkGroup TAB path [TAB target]
// type is one of f d l c b p s; linkGroup numbers hard-linked inodes (empty when nlink is 1);
// path and target escape backslash, tab, newline and carriage return. Measured on a 10k-path
// rootfs: ~1 MB of text, ~170 kB gzipped, written in ~30 ms; NDJSON was 1.6x larger.
const HEADER = 'polythene-manifest 1';

/** Builds a manifest from the paths of one {@link scanTree} walk. */
export interface ManifestBuilder {
  /** Records one path. */
  add(path: ScannedPath): void;
  /** The gzipped manifest. */
  finish(): Promise<Buffer>;
}

/** Creates a {@link ManifestBuilder}. */
export function createManifestBuilder(): ManifestBuilder {
  const lines: string[] = [HEADER];
  const linkGroups = new Map<string, number>();
  return {
    add({ relativePath, stats, linkTarget }: ScannedPath): void {
      let linkGroup = '';
      if (stats.nlink > 1n && !stats.isDirectory()) {
        const key = `${stats.dev}:${stats.ino}`;
        let group = linkGroups.get(key);
        if (group === undefined) {
          group = linkGroups.size + 1;
          linkGroups.set(key, group);
        }
        linkGroup = String(group);
      }
      lines.push(
        `${quickCheckKey(stats)}\t${linkGroup}\t${escapeField(relativePath)}${linkTarget === undefined ? '' : `\t${escapeField(linkTarget)}`}`,
      );
    },
    async finish(): Promise<Buffer> {
      return gzipAsync(`${lines.join('\n')}\n`, { level: 6 });
    },
  };
}

/**
 * What a quick check (like rsync's) compares for one path: type, mode, owner, group, and for
 * non-directories also size and mtime in nanoseconds (the link target is compared beside it). Directories leave size
 * and mtime out: they change whenever an entry is added or removed, which the diff reports
 * as that entry. A rewrite that keeps size and mtime is not seen.
 */
function quickCheckKey(stats: BigIntStats): string {
  const type = typeLetter(stats);
  const mode = (Number(stats.mode) & 0o7777).toString(8);
  if (type === 'd') return `d\t${mode}\t${stats.uid}\t${stats.gid}\t\t`;
  return `${type}\t${mode}\t${stats.uid}\t${stats.gid}\t${stats.size}\t${stats.mtimeNs}`;
}

function typeLetter(stats: BigIntStats): string {
  if (stats.isDirectory()) return 'd';
  if (stats.isFile()) return 'f';
  if (stats.isSymbolicLink()) return 'l';
  if (stats.isCharacterDevice()) return 'c';
  if (stats.isBlockDevice()) return 'b';
  if (stats.isFIFO()) return 'p';
  return 's';
}

function escapeField(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (char) =>
    char === '\\' ? '\\\\' : char === '\t' ? '\\t' : char === '\n' ? '\\n' : '\\r',
  );
}

function unescapeField(value: string): string {
  return value.replace(/\\(.)/g, (_, char: string) =>
    char === 't' ? '\t' : char === 'n' ? '\n' : char === 'r' ? '\r' : char,
  );
}

/** Writes a gzipped manifest to `path` (mode 0644, refusing to overwrite). */
export async function writeManifest(path: string, manifest: Buffer): Promise<void> {
  await fs.writeFile(path, manifest, { mode: 0o644, flag: 'wx' });
}

/** Parses a manifest into path → comparison key (type, metadata and link target). */
export async function readManifest(path: string): Promise<Map<string, string>> {
  const text = (await gunzipAsync(await fs.readFile(path))).toString('utf8');
  const lines = text.split('\n');
  if (lines[0] !== HEADER) {
    throw new PolytheneError(
      'POLYTHENE_INVALID_ID',
      `manifest ${path} is not a polythene manifest (unknown header); re-create the entry with \`polythene pull\` or \`polythene clone\``,
    );
  }
  const records = new Map<string, string>();
  for (let index = 1; index < lines.length; index += 1) {
    const line = lines[index] as string;
    if (line === '') continue;
    const fields = line.split('\t');
    // type, mode, uid, gid, size, mtimeNs, linkGroup, path, [target]
    const key = fields.slice(0, 6).join('\t');
    const relativePath = unescapeField(fields[7] ?? '');
    const target = fields[8] === undefined ? '' : unescapeField(fields[8]);
    records.set(relativePath, `${key}\t${target}`);
  }
  return records;
}

/**
 * Diffs the tree at `root` against a manifest recorded from it earlier ({@link readManifest}),
 * by the quick check of `quickCheckKey`: one walk, no file contents read.
 */
export async function diffTreeAgainstManifest(
  root: string,
  manifest: Map<string, string>,
): Promise<TreeDiff> {
  const diff: TreeDiff = { added: [], modified: [], deleted: [] };
  const currentDirs = new Set<string>();
  const seen = new Set<string>();
  await scanTree(root, ({ relativePath, stats, linkTarget }) => {
    seen.add(relativePath);
    if (stats.isDirectory()) currentDirs.add(relativePath);
    const before = manifest.get(relativePath);
    if (before === undefined) {
      diff.added.push(toAbsolute(relativePath));
      return;
    }
    if (before !== `${quickCheckKey(stats)}\t${linkTarget ?? ''}`)
      diff.modified.push(toAbsolute(relativePath));
  });
  for (const relativePath of manifest.keys()) {
    if (seen.has(relativePath) || relativePath === '') continue;
    // Only the top-most deleted path: its parent is still a directory.
    if (currentDirs.has(parentOf(relativePath))) diff.deleted.push(toAbsolute(relativePath));
  }
  diff.added.sort();
  diff.modified.sort();
  diff.deleted.sort();
  return diff;
}
