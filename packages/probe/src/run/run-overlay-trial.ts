import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OverlayLayers } from '../backend.ts';

/** The scratch overlay a trial mounts: one lower layer holding the file `from-lower`. */
export interface OverlayTrialLayers extends OverlayLayers {
  /** The single lower layer (also `lowerDirs[0]`). */
  readonly lower: string;
}

/**
 * The shared half of a backend's "can I mount an overlay root?" probe. Makes scratch lower,
 * upper and work directories (the lower holding the file `from-lower`) and hands them to
 * `mountAndWrite`, which mounts the overlay over the lower the way the backend's runs do,
 * checks that `from-lower` shows through, and writes a file `written` through it. True only
 * when that succeeded, the write landed in the upper layer and the lower stayed untouched.
 * The scratch directory is removed afterwards; nothing stays mounted on the host, as the
 * trial mounts in a namespace of its own.
 */
export async function runOverlayTrial(
  mountAndWrite: (layers: OverlayTrialLayers) => Promise<{ readonly exitCode: number | null }>,
): Promise<boolean> {
  // node:os only here: exec's start-up never loads it otherwise.
  const dir = mkdtempSync(
    join(process.getBuiltinModule('node:os').tmpdir(), 'polythene-overlay-probe-'),
  );
  try {
    const lower = join(dir, 'lower');
    const layers: OverlayTrialLayers = {
      lower,
      lowerDirs: [lower],
      upperDir: join(dir, 'upper'),
      workDir: join(dir, 'work'),
    };
    for (const path of [lower, layers.upperDir, layers.workDir]) mkdirSync(path);
    writeFileSync(join(lower, 'from-lower'), '');
    const run = await mountAndWrite(layers);
    return (
      run.exitCode === 0 &&
      existsSync(join(layers.upperDir, 'written')) &&
      !existsSync(join(lower, 'written'))
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
