import { PolytheneError } from '@polythene/errors';

/**
 * Linux's limit on symlinks followed while resolving one path (MAXSYMLINKS, 40): the one
 * limit every Polythene resolver uses.
 */
export const MAX_SYMLINKS = 40;

/** What a driver says about one path inside the root (see {@link walkChrootPath}). */
export type PathKind = 'missing' | 'symlink' | 'present';

/**
 * One question the walk asks its driver: the kind of the entry at `components` (relative to
 * the root, never containing `.` or `..`), or the target of the symlink there.
 */
export interface WalkRequest {
  /** `kind`: answer a {@link PathKind}; `readlink`: answer the link's target. */
  op: 'kind' | 'readlink';
  /** The path asked about, as components below the root (empty: the root itself). */
  components: readonly string[];
}

/** Where a walk ended: the resolved components, and from which one on they do not exist. */
export interface ChrootPathResolution {
  /** Resolved components below the root: symlinks followed, `.` dropped, `..` applied. */
  components: string[];
  /**
   * Index into `components` of the first missing one (or one below a non-directory);
   * `components.length` when the whole path exists. Components from here on are joined as
   * written, `..` removing the one before it.
   */
  missingFrom: number;
}

/** Options for {@link walkChrootPath}. */
export interface WalkChrootPathOptions {
  /** Follow a symlink in the last component too (default true); false resolves like `lstat`. */
  followFinalSymlink?: boolean;
  /** How the error on a symlink loop names the path, e.g. `"/etc/x" inside /store/rootfs`. */
  describe?: string;
}

/**
 * The one chroot-style path resolution of Polythene, as a generator so that a synchronous
 * driver (a plain rootfs, `lstat`) and an asynchronous one (a merged stack of layers) share
 * it: it yields {@link WalkRequest}s and takes the driver's answers, a {@link PathKind} for
 * `kind` and the target for `readlink`. Absolute symlinks restart at the root, relative
 * ones at their directory, and `..` never climbs above the root. Throws a `PolytheneError`
 * (`POLYTHENE_USAGE`) after {@link MAX_SYMLINKS} links, as the kernel fails with ELOOP.
 * Drive it with {@link resolveChrootPathSync} or a loop of your own.
 */
export function* walkChrootPath(
  path: string,
  options: WalkChrootPathOptions = {},
): Generator<WalkRequest, ChrootPathResolution, string> {
  const followFinalSymlink = options.followFinalSymlink ?? true;
  const resolved: string[] = [];
  const remaining = splitPath(path);
  let missingFrom: number | undefined;
  let linksFollowed = 0;
  while (remaining.length > 0) {
    const component = remaining.shift() as string;
    if (component === '.') continue;
    if (component === '..') {
      resolved.pop();
      if (missingFrom !== undefined && missingFrom > resolved.length) missingFrom = resolved.length;
      continue;
    }
    if (missingFrom !== undefined) {
      resolved.push(component);
      continue;
    }
    const candidate = [...resolved, component];
    const kind = (yield { op: 'kind', components: candidate }) as PathKind;
    const isLast = remaining.length === 0;
    if (kind === 'missing') missingFrom = resolved.length;
    if (kind !== 'symlink' || (isLast && !followFinalSymlink)) {
      resolved.push(component);
      continue;
    }
    linksFollowed += 1;
    if (linksFollowed > MAX_SYMLINKS) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `cannot resolve ${options.describe ?? JSON.stringify(path)}: too many levels of symbolic links (a symlink loop in the image); fix or remove the looping link`,
        { cause: Object.assign(new Error('ELOOP'), { code: 'ELOOP' }) },
      );
    }
    const target = yield { op: 'readlink', components: candidate };
    if (target.startsWith('/')) resolved.length = 0;
    remaining.unshift(...splitPath(target));
  }
  return { components: resolved, missingFrom: missingFrom ?? resolved.length };
}

function splitPath(path: string): string[] {
  return path.split('/').filter((component) => component.length > 0);
}
