import { scanTree } from './scan-tree.ts';

/** What {@link measureTree} found. */
export interface TreeMeasurement {
  /** Apparent size in bytes of every non-directory below the root (symlinks count their target's length; hard links once). */
  sizeBytes: number;
  /** Number of non-directory entries below the root: files, symlinks, fifos, sockets, devices. */
  fileCount: number;
}

/** Accumulates a {@link TreeMeasurement} from the paths of one {@link scanTree} walk. */
export interface TreeMeter {
  /** Counts one path (directories are ignored). */
  add(stats: {
    isDirectory(): boolean;
    nlink: bigint;
    dev: bigint;
    ino: bigint;
    size: bigint;
  }): void;
  /** The totals so far. */
  readonly total: TreeMeasurement;
}

/** Creates a {@link TreeMeter}: hard links count once, directories not at all. */
export function createTreeMeter(): TreeMeter {
  const seenInodes = new Set<string>();
  const total: TreeMeasurement = { sizeBytes: 0, fileCount: 0 };
  return {
    total,
    add(stats): void {
      if (stats.isDirectory()) return;
      total.fileCount += 1;
      if (stats.nlink > 1n) {
        const key = `${stats.dev}:${stats.ino}`;
        if (seenInodes.has(key)) return;
        seenInodes.add(key);
      }
      total.sizeBytes += Number(stats.size);
    },
  };
}

/**
 * Measures a tree without following symlinks. Directories that cannot be read are skipped
 * (their contents are not counted) rather than failing the measurement.
 */
export async function measureTree(path: string): Promise<TreeMeasurement> {
  const meter = createTreeMeter();
  await scanTree(path, ({ relativePath, stats }) => {
    if (relativePath !== '') meter.add(stats);
  });
  return meter.total;
}
