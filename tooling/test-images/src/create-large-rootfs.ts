import { createHash } from 'node:crypto';
import {
  access,
  constants,
  link,
  lstat,
  mkdir,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createBusyboxRootfs } from './create-busybox-rootfs.ts';

/** What {@link createLargeRootfs} produced. */
export interface LargeRootfsStats {
  /** Regular files, each path counted (hard links count once per path). */
  readonly fileCount: number;
  /** Bytes of regular-file content, each inode counted once. */
  readonly sizeBytes: number;
}

/** The large rootfs reaches at least this much regular-file content. */
export const largeRootfsMinSizeBytes: number = 120 * 1024 * 1024;
/** The large rootfs holds at least this many regular files. */
export const largeRootfsMinFileCount = 4000;

// Host trees copied in order until the minimums are reached: real-world mixes of small and
// large files, relative and absolute symlinks. Missing ones are skipped (hosts differ).
const hostSources = [
  '/usr/share/zoneinfo',
  '/usr/share/perl',
  '/usr/include',
  '/usr/lib/python3',
  '/usr/lib/python3.11',
  '/usr/share/doc',
  '/usr/lib/x86_64-linux-gnu/perl-base',
  '/usr/lib/gcc',
  '/usr/share/locale',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
];

/**
 * Builds a realistic large plain-directory rootfs for benchmarks: the busybox rootfs
 * ({@link createBusyboxRootfs}), copies of host `/usr/share` and `/usr/lib` subtrees until it
 * holds at least {@link largeRootfsMinFileCount} files and {@link largeRootfsMinSizeBytes}
 * bytes (padded with generated files on a sparse host), plus `/usr/share/polythene-large` with
 * hard links, relative and absolute symlinks and a symlinked directory. Works as non-root.
 */
export async function createLargeRootfs(targetDir: string): Promise<LargeRootfsStats> {
  await createBusyboxRootfs(targetDir);
  await addLinkZoo(join(targetDir, 'usr/share/polythene-large'));
  let stats = await measureTree(targetDir);
  for (const source of hostSources) {
    if (stats.fileCount >= largeRootfsMinFileCount && stats.sizeBytes >= largeRootfsMinSizeBytes)
      break;
    if (!(await isReadableDir(source))) continue;
    const destination = join(targetDir, source);
    if (await exists(destination)) continue;
    await mkdir(join(destination, '..'), { recursive: true });
    // `cp -a` keeps symlinks as they are and hard links within the copy as hard links.
    const copied = await execa('cp', ['-a', '--no-preserve=ownership', source, destination], {
      reject: false,
      stdin: 'ignore',
    });
    if (copied.failed) {
      // Unreadable files (a non-root caller): drop the subtree rather than keep half of it.
      await rm(destination, { recursive: true, force: true });
      continue;
    }
    stats = await measureTree(targetDir);
  }
  await padTree(join(targetDir, 'usr/share/polythene-large/padding'), stats);
  return measureTree(targetDir);
}

async function addLinkZoo(dir: string): Promise<void> {
  await mkdir(join(dir, 'data'), { recursive: true });
  for (let index = 0; index < 64; index++) {
    const name = `file-${index}.bin`;
    await writeFile(join(dir, 'data', name), generateBytes(`zoo-${index}`, 16 * 1024));
    await link(join(dir, 'data', name), join(dir, 'data', `hardlink-${index}.bin`));
    await symlink(`data/${name}`, join(dir, `relative-${index}`));
    await symlink(`/usr/share/polythene-large/data/${name}`, join(dir, `absolute-${index}`));
  }
  await symlink('data', join(dir, 'data-dir-link'));
  await symlink('/usr/share/polythene-large/data', join(dir, 'data-dir-absolute-link'));
}

async function padTree(dir: string, stats: LargeRootfsStats): Promise<void> {
  const missingFiles = Math.max(0, largeRootfsMinFileCount - stats.fileCount);
  const missingBytes = Math.max(0, largeRootfsMinSizeBytes - stats.sizeBytes);
  if (missingFiles === 0 && missingBytes === 0) return;
  await mkdir(dir, { recursive: true });
  const fileCount = Math.max(missingFiles, Math.ceil(missingBytes / (1024 * 1024)));
  const fileSizeBytes = Math.ceil(missingBytes / fileCount) + 1;
  for (let index = 0; index < fileCount; index++) {
    await writeFile(join(dir, `pad-${index}.bin`), generateBytes(`pad-${index}`, fileSizeBytes));
  }
}

// Incompressible but deterministic content, so layer sizes are honest and digests stable.
function generateBytes(seed: string, sizeBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let block = createHash('sha256').update(seed).digest();
  let total = 0;
  while (total < sizeBytes) {
    chunks.push(block);
    total += block.length;
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(chunks).subarray(0, sizeBytes);
}

/** Counts regular files and their bytes under `dir` (each inode's bytes once). */
export async function measureTree(dir: string): Promise<LargeRootfsStats> {
  const seenInodes = new Set<string>();
  let fileCount = 0;
  let sizeBytes = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) {
        fileCount++;
        const info = await lstat(path);
        const inode = `${info.dev}:${info.ino}`;
        if (!seenInodes.has(inode)) {
          seenInodes.add(inode);
          sizeBytes += info.size;
        }
      }
    }
  }
  return { fileCount, sizeBytes };
}

async function isReadableDir(path: string): Promise<boolean> {
  try {
    const info = await lstat(path);
    await access(path, constants.R_OK | constants.X_OK);
    return info.isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
