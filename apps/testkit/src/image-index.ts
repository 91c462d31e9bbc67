import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Name of the testkit's index in the store directory (a dot-file: the store ignores it). */
export const IMAGE_INDEX_NAME = '.testkit-images.json';

/** Name of the lock file serialising pulls and index updates across processes. */
export const IMAGE_LOCK_NAME = '.testkit-images.lock';

/** One cached image: which store entry holds it, and which test run pulled it. */
export interface ImageIndexRecord {
  /** The store entry holding the image's rootfs. */
  readonly id: string;
  /** The test run that pulled it ({@link resolveTestRunId}). */
  readonly runId: string;
  /** When it was pulled, ISO 8601. */
  readonly pulledAt: string;
}

/** Image reference → cached entry. */
export type ImageIndex = Record<string, ImageIndexRecord>;

/** Reads `<storeDir>/.testkit-images.json`; missing or unreadable counts as empty. */
export async function readImageIndex(storeDir: string): Promise<ImageIndex> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(storeDir, IMAGE_INDEX_NAME), 'utf8'));
    const images = (parsed as { images?: unknown }).images;
    if (typeof images !== 'object' || images === null) return {};
    const index: ImageIndex = {};
    for (const [ref, record] of Object.entries(images)) {
      const { id, runId, pulledAt } = (record ?? {}) as Partial<ImageIndexRecord>;
      if (typeof id === 'string' && typeof runId === 'string' && typeof pulledAt === 'string')
        index[ref] = { id, runId, pulledAt };
    }
    return index;
  } catch {
    // A corrupt index only costs a pull: the entries it named are still in the store.
    return {};
  }
}

/** Replaces the index atomically (write a temporary, rename); callers hold the lock. */
export async function writeImageIndex(storeDir: string, index: ImageIndex): Promise<void> {
  const path = join(storeDir, IMAGE_INDEX_NAME);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ version: 1, images: index }, null, 2)}\n`, {
    mode: 0o600,
  });
  await rename(temporary, path);
}
