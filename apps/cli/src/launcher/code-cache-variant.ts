const TREE_COMMANDS = new Set(['pull', 'save', 'load', 'commit', 'clone', 'diff']);

/**
 * The code-cache variant of a command line. A cache holds what the first run of its kind
 * compiled, and a run compiles only the code it goes through: an exec through proot (its
 * stderr reader, its leftover watcher) leaves most of the bwrap path uncompiled, and a bwrap
 * run that starts from that cache compiles it every time (3.5 ms). So exec runs are keyed by
 * the backend they ask for (`--isolation`, else `POLYTHENE_ISOLATION`; without either, the
 * probe picks the same one on every run on a host), by `--network host` or `private`
 * (`POLYTHENE_NETWORK`), whose copies of resolv.conf, and slirp4netns's start, are more code
 * (a `none` cache left `host` 2 ms slower), and by `--json`, whose capture is another path; `exec --in` (entering a running box) has its own; `pull`, `save`, `load`, `commit`,
 * `clone` and `diff` one each; everything else shares `other`.
 *
 * A plain scan of the arguments, not the parser: this runs before any of the CLI is loaded.
 */
export function codeCacheVariant(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string {
  // The commands that move a whole tree, where the start-up is a share of the time that
  // users compare with tar or cp: each keeps its own cache, so that one is never the cache a
  // `list` made, which holds none of their code.
  if (argv[2] !== undefined && TREE_COMMANDS.has(argv[2])) return argv[2];
  if (argv[2] !== 'exec') return 'other';
  let isolation = env.POLYTHENE_ISOLATION;
  let network = env.POLYTHENE_NETWORK;
  let isJson = false;
  let isInBox = false;
  for (let index = 3; index < argv.length; index += 1) {
    const argument = argv[index] as string;
    if (argument === '--') break;
    if (argument === '--json') isJson = true;
    // `exec --in BOX` enters a running box: none of a backend's path, its own cache.
    else if (argument === '--in' || argument.startsWith('--in=') || argument === '--detach')
      isInBox = true;
    else if (argument === '--isolation') isolation = argv[index + 1];
    else if (argument.startsWith('--isolation=')) isolation = argument.slice(12);
    else if (argument === '--network') network = argv[index + 1];
    else if (argument.startsWith('--network=')) network = argument.slice(10);
  }
  if (isInBox) return `exec.in${isJson ? '.json' : ''}`;
  const backend =
    isolation === undefined || isolation === ''
      ? 'auto'
      : isolation === 'bubblewrap'
        ? 'bwrap'
        : isolation === 'bwrap' || isolation === 'proot' || isolation === 'chroot'
          ? isolation
          : 'other';
  // No '-' inside a variant: the cache file's name puts one after it, and no variant's name
  // plus '-' may begin another's (writing one cache drops the others that share its prefix).
  const networkPart = network === 'host' || network === 'private' ? `.${network}` : '';
  return `exec.${backend}${networkPart}${isJson ? '.json' : ''}`;
}

/**
 * Exit codes after which no cache is written: a usage error (2), a sandbox that could not be
 * set up (125) or no backend (126) end before the usual path, and a cache made then would
 * leave the next runs compiling most of it.
 */
export const EXIT_CODES_WITHOUT_CACHE: readonly number[] = [2, 125, 126];
