import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runQuietly } from '@polythene/probe';
import { buildMountPrefix, buildOverlayOptions } from './build-bwrap-args.ts';

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
export async function tryOverlayRoot(
  paths: OverlayTrialPaths,
  inUserNamespace: boolean,
  sandboxArgs: readonly string[],
): Promise<boolean> {
  const dir = mkdtempSync(
    join(process.getBuiltinModule('node:os').tmpdir(), 'polythene-overlay-probe-'),
  );
  try {
    const layers = {
      lowerDirs: [join(dir, 'lower')],
      upperDir: join(dir, 'upper'),
      workDir: join(dir, 'work'),
    };
    const lower = join(dir, 'lower');
    for (const path of [lower, layers.upperDir, layers.workDir]) mkdirSync(path);
    writeFileSync(join(lower, 'from-lower'), '');
    const { file, args } = buildMountPrefix(
      paths,
      {
        inUserNamespace,
        rootTarget: lower,
        rootSource: lower,
        overlayOptions: buildOverlayOptions(layers, inUserNamespace),
        bindDir: '',
        bindSources: [],
      },
      [
        paths.bwrap,
        ...sandboxArgs,
        '--bind',
        lower,
        lower,
        '--',
        paths.sh,
        '-c',
        'test -f "$0/from-lower" && echo written > "$0/written"',
        lower,
      ],
    );
    const run = await runQuietly(file, args);
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
