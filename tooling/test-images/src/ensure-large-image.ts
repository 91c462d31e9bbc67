import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveCacheDir } from './cache-dir.ts';
import { createLargeRootfs } from './create-large-rootfs.ts';
import { createRootfsTarball } from './create-rootfs-tarball.ts';
import { stampLabel } from './ensure-test-images.ts';
import type { LargeImage } from './fixture-types.ts';
import { runPodman } from './run-podman.ts';
import { withFileLock } from './with-file-lock.ts';

/** Bump when the large image's recipe changes, so cached images are rebuilt. */
const largeRecipeVersion = 'large-v1';
const largeRef = 'localhost/polythene-test/large:latest';

let pending: Promise<LargeImage> | undefined;

/**
 * Makes sure the benchmark image `localhost/polythene-test/large:latest` exists in the current
 * user's podman: the tree of {@link createLargeRootfs} (thousands of files, >= 100 MB, hard
 * links, relative and absolute symlinks) imported once and then reused. Returns its reference
 * and what it holds. Concurrency-safe like {@link ensureTestImages}; building takes seconds,
 * the cached path one `podman image inspect`.
 */
export function ensureLargeImage(): Promise<LargeImage> {
  pending ??= buildLargeImage().finally(() => {
    pending = undefined;
  });
  return pending;
}

async function buildLargeImage(): Promise<LargeImage> {
  const cacheDir = await resolveCacheDir();
  const recordPath = join(cacheDir, 'large.json');
  return withFileLock(join(cacheDir, 'large.lock'), async () => {
    const recorded = await readRecord(recordPath);
    if (recorded !== undefined && (await readStamp()) === largeRecipeVersion) return recorded;

    const workDir = await mkdtemp(join(cacheDir, 'build-large-'));
    try {
      const stats = await createLargeRootfs(join(workDir, 'rootfs'));
      await createRootfsTarball(join(workDir, 'rootfs'), join(workDir, 'large.tar'), {
        appOwnedDirs: ['home/app'],
      });
      await runPodman([
        'import',
        '--quiet',
        '--change',
        `LABEL ${stampLabel}=${largeRecipeVersion}`,
        join(workDir, 'large.tar'),
        largeRef,
      ]);
      const image: LargeImage = { ref: largeRef, ...stats };
      await writeFile(recordPath, `${JSON.stringify(image)}\n`);
      return image;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
}

async function readStamp(): Promise<string | undefined> {
  try {
    return await runPodman([
      'image',
      'inspect',
      '--format',
      `{{index .Labels "${stampLabel}"}}`,
      largeRef,
    ]);
  } catch {
    return undefined;
  }
}

async function readRecord(path: string): Promise<LargeImage | undefined> {
  try {
    const record = JSON.parse(await readFile(path, 'utf8')) as LargeImage;
    return record.ref === largeRef ? record : undefined;
  } catch {
    return undefined;
  }
}
