import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runQuietly } from '@polythene/probe';
import { buildOverlayOptions } from './build-chroot-args.ts';

/**
 * Mounts a tiny overlay as a run would (root, private mount namespace, the overlay covering
 * its top-most lower layer) and writes one file through it. True only when the write landed in
 * the upper layer and the lower stayed untouched. Silent; costs one short process.
 */
export async function tryOverlayMount(paths: {
  readonly unshare: string;
  readonly mount: string;
  readonly sh: string;
}): Promise<boolean> {
  const dir = mkdtempSync(
    join(process.getBuiltinModule('node:os').tmpdir(), 'polythene-overlay-probe-'),
  );
  try {
    const lower = join(dir, 'lower');
    const layers = { lowerDirs: [lower], upperDir: join(dir, 'upper'), workDir: join(dir, 'work') };
    for (const path of [lower, layers.upperDir, layers.workDir]) mkdirSync(path);
    writeFileSync(join(lower, 'from-lower'), '');
    const run = await runQuietly(paths.unshare, [
      '--mount',
      '--propagation',
      'private',
      '--',
      paths.sh,
      '-c',
      'set -e; "$0" -t overlay -o "$2" overlay "$1"; test -f "$1/from-lower"; echo written > "$1/written"',
      paths.mount,
      lower,
      buildOverlayOptions(layers),
    ]);
    return (
      run.exitCode === 0 &&
      existsSync(join(layers.upperDir, 'written')) &&
      !existsSync(join(lower, 'written'))
    );
  } finally {
    // Nothing is mounted here on the host: the overlay lived in the trial's own namespace.
    rmSync(dir, { recursive: true, force: true });
  }
}
