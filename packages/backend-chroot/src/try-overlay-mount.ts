import { runOverlayTrial, runQuietly } from '@polythene/probe';
import { buildOverlayOptions } from './build-chroot-args.ts';

/**
 * Mounts a tiny overlay as a run would (root, private mount namespace, the overlay covering
 * its top-most lower layer) and writes one file through it. True only when the write landed in
 * the upper layer and the lower stayed untouched. Silent; costs one short process.
 */
export function tryOverlayMount(paths: {
  readonly unshare: string;
  readonly mount: string;
  readonly sh: string;
}): Promise<boolean> {
  return runOverlayTrial((layers) =>
    runQuietly(paths.unshare, [
      '--mount',
      '--propagation',
      'private',
      '--',
      paths.sh,
      '-c',
      'set -e; "$0" -t overlay -o "$2" overlay "$1"; test -f "$1/from-lower"; echo written > "$1/written"',
      paths.mount,
      layers.lower,
      buildOverlayOptions(layers),
    ]),
  );
}
