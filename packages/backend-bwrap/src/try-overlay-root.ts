import { runOverlayTrial, runQuietly } from '@polythene/probe';
import { buildMountPrefix } from './build-bwrap-args.ts';
import { buildOverlayOptions } from './plan-bwrap-run.ts';

/** Host tools the overlay trial runs. */
export interface OverlayTrialPaths {
  /** bwrap. */
  readonly bwrap: string;
  /** util-linux unshare. */
  readonly unshare: string;
  /** util-linux mount. */
  readonly mount: string;
  /** A POSIX shell. */
  readonly sh: string;
}

/**
 * Mounts a tiny overlay exactly as a run would (private mount namespace; for non-root callers
 * inside their own user namespace with `userxattr`), starts bwrap on it with `sandboxArgs`
 * (every namespace the backend uses), and writes one file through it. True only when the write
 * landed in the upper layer and the lower stayed untouched. Silent; costs one short process.
 */
export function tryOverlayRoot(
  paths: OverlayTrialPaths,
  inUserNamespace: boolean,
  sandboxArgs: readonly string[],
): Promise<boolean> {
  return runOverlayTrial((layers) => {
    const { file, args } = buildMountPrefix(
      paths,
      {
        inUserNamespace,
        rootTarget: layers.lower,
        rootSource: layers.lower,
        overlayOptions: buildOverlayOptions(layers, inUserNamespace),
        bindDir: '',
        bindSources: [],
      },
      [
        paths.bwrap,
        ...sandboxArgs,
        '--bind',
        layers.lower,
        layers.lower,
        '--',
        paths.sh,
        '-c',
        'test -f "$0/from-lower" && echo written > "$0/written"',
        layers.lower,
      ],
    );
    return runQuietly(file, args);
  });
}
