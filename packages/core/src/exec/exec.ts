import { statSync } from 'node:fs';
import { hasErrorCode, PolytheneError } from '@polythene/errors';
import {
  assertCommandGiven,
  type BindMount,
  BOX_HELPERS_DIR,
  DEFAULT_MAX_OUTPUT_BYTES,
  type ExcludedBackend,
  type Guarantee,
  type NetworkMode,
  type OverlayLayers,
  type PublishedPort,
  type RunNetwork,
  type RunResult,
  resolveCapabilities,
} from '@polythene/probe';
import {
  assertEntryRef,
  type EntryLayers,
  type EntryMetadata,
  resolveEntryRef,
  type Store,
} from '@polythene/store';
import { type Logger, silentLogger } from '../logger.ts';
import { openStoreFromOptions, type StoreOptions } from '../store-options.ts';
import { createExecBackendChooser } from './backend-selection.ts';
import type { BackendSource } from './backend-source.ts';
import { buildCommandEnvironment } from './command-environment.ts';
import { type NetworkFiles, prepareNetworkFiles } from './network/network-files.ts';
import { guaranteesWithNetwork, resolveNetwork } from './network/resolve-network.ts';
import { parseBind, WORKSPACE_TARGET, workspaceBind } from './parse-bind.ts';
import { type ExecRestOptions, readExecArguments } from './read-exec-arguments.ts';
import { assertStoreWritableFor } from './read-only-store.ts';
import { EXEC_USAGE, resolveCommandInRootfs } from './resolve-command.ts';
import { createRootResolver, type ResolveInRoot } from './root-view.ts';
import { resolveRootfsUser } from './rootfs-user.ts';
import {
  type LimitOptions,
  type LimitsOutcome,
  prepareRunLimits,
  resolveRequestedLimits,
} from './run-limits.ts';
import { createThrowawayRoot, type ThrowawayRoot } from './throwaway-root.ts';

/** How long a forwarded signal may take to end the command before its tree is killed. */
export const DEFAULT_KILL_GRACE_MS: number = 5_000;

/** Options for {@link exec}. */
export interface ExecOptions extends StoreOptions, LimitOptions, BackendSource {
  /** The store entry to run in: its id (a UUID) or its name. */
  readonly id: string;
  /** The command as an argv; no shell is involved. */
  readonly command: readonly string[];
  /** Backend to probe first (`bwrap`/`bubblewrap`, `proot`, `chroot`, or a custom name). */
  readonly isolation?: string;
  /** Custom backend modules (package names or paths) to register after `backends`. */
  readonly backendModules?: readonly string[];
  /** `KEY=VALUE` to set, or `KEY` to copy from the host. */
  readonly env?: readonly string[];
  /** Working directory inside the rootfs; default the image's WorkingDir, else `/`. */
  readonly workdir?: string;
  /** `USER[:GROUP]` inside the rootfs; default the image's User, else root. */
  readonly user?: string;
  /** Extra binds: `SRC:DEST[:ro]` strings or parsed mounts. */
  readonly binds?: readonly (string | BindMount)[];
  /** Bind this host directory (true: the current directory) at `/workspace`. */
  readonly workspace?: string | true;
  /** Kill the whole tree after this many milliseconds; the result says `timedOut`. */
  readonly timeoutMs?: number;
  /** `inherit` passes stdio through; `pipe` captures output and feeds `input`. */
  readonly stdio?: 'inherit' | 'pipe';
  /** stdin for `pipe` mode. */
  readonly input?: string | Uint8Array;
  /** Cap on captured stdout and on captured stderr, in bytes (`pipe` mode). */
  readonly maxOutputBytes?: number;
  /**
   * Run the command on a pseudo-terminal of its own in the box (podman's `-t`): job control,
   * `tty`, window size and SIGWINCH, Ctrl-C from the terminal; stdout and stderr come out
   * merged, as from a terminal. `TERM` is the host's (else `xterm`) unless `env` sets it.
   * The user's terminal never enters the box. A backend without `supportsTerminal` refuses.
   */
  readonly tty?: boolean;
  /**
   * With `tty`: forward stdin to the command's terminal (podman's `-i`), putting polythene's
   * own terminal in raw mode meanwhile. Without `tty` stdin is always the command's.
   */
  readonly interactive?: boolean;
  /** Refuse to run with fewer than the backend's default guarantees instead of warning. */
  readonly strict?: boolean;
  /**
   * Capabilities added to in-box root's container set (podman's `--cap-add`: `NET_RAW`,
   * `CAP_NET_RAW` or `ALL`); a non-root user gets none either way.
   */
  readonly capAdd?: readonly string[];
  /** Capabilities dropped from that set (podman's `--cap-drop`; `ALL` empties it). */
  readonly capDrop?: readonly string[];
  /** Forward SIGINT/SIGTERM/SIGHUP received by this process to the command (the CLI does). */
  readonly forwardSignals?: boolean;
  /** Aborting ends the command as SIGTERM would. */
  readonly abortSignal?: AbortSignal;
  /** Grace period between a forwarded signal and killing the tree. */
  readonly killGraceMs?: number;
  /** Host working directory for relative `--bind`/`--workspace` paths; default process.cwd(). */
  readonly cwd?: string;
  /** Verbose and warning lines; silent by default. */
  readonly logger?: Logger;
  /**
   * Run on a throwaway copy of the entry (an overlay layer where a backend can mount one,
   * else a full copy); its changes vanish afterwards and the entry is never modified.
   */
  readonly ephemeral?: boolean;
  /**
   * Run on this throwaway root of the entry (see `createThrowawayRoot`; the testkit's boxes)
   * instead of the entry's own: the entry supplies the image config. The caller disposes it.
   */
  readonly root?: ThrowawayRoot;
  /**
   * Run on these overlay layers instead of the entry's own root: the
   * entry supplies the image config; writes go to `layers.upperDir`.
   */
  readonly layers?: OverlayLayers;
  /**
   * Run in this directory instead of the entry's own root (a throwaway copy made for a
   * backend without overlayfs); the entry supplies the image config.
   */
  readonly rootfs?: string;
  /** `none` (loopback only), `host` or `private` (slirp4netns); default POLYTHENE_NETWORK, else none. */
  readonly network?: NetworkMode | string;
  /** With `private`: `HOST_PORT:BOX_PORT[/tcp|udp]` strings or parsed ports (127.0.0.1 only). */
  readonly publish?: readonly (string | PublishedPort)[];
  /** Bind polythene's helpers into the box's `/dev/.polythene` (a box's holder runs there). */
  readonly helpers?: boolean;
  /**
   * Called with the chosen backend before the command starts; throwing refuses it (a box
   * that stays up refuses a backend that cannot hold namespaces).
   */
  readonly onBackendChosen?: (backend: string, guarantees: readonly Guarantee[]) => void;
}

/** How the command ended, and where. */
export interface ExecResult extends RunResult, LimitsOutcome {
  /** The guarantees the backend enforced for this run. */
  readonly guarantees: readonly Guarantee[];
  /** The store entry's rootfs path. */
  readonly rootfs: string;
  /** The network mode the command ran with. */
  readonly network: NetworkMode;
}

/**
 * Runs a command in a store entry through the first backend that works here. Expected
 * outcomes (non-zero exit, signal, timeout) are data; a missing entry, a missing command,
 * no backend or a failed sandbox set-up throw a `PolytheneError`.
 */
export function exec(options: ExecOptions): Promise<ExecResult>;
/** The same, with the entry and the command first: `exec('debian', ['echo', 'hi'])`. */
export function exec(
  idOrName: string,
  command: readonly string[],
  options?: ExecRestOptions,
): Promise<ExecResult>;
export async function exec(
  first: ExecOptions | string,
  command?: readonly string[],
  rest?: ExecRestOptions,
): Promise<ExecResult> {
  const options = readExecArguments(first, command, rest);
  const logger = options.logger ?? silentLogger;
  const hostEnv = options.hostEnv ?? process.env;
  const hostCwd = options.cwd ?? process.cwd();
  assertCommandGiven(options.command, EXEC_USAGE);
  assertEntryRef(options.id);
  const network = resolveNetwork({
    network: options.network,
    publish: options.publish,
    hostEnv,
    isRoot: process.geteuid?.() === 0,
  });
  const requestedLimits = resolveRequestedLimits(options, hostEnv);
  const store = await openStoreFromOptions(options, false);
  // UUID, then name, then a hand-made directory of that name.
  const id = resolveEntryRef(store.dir, options.id);
  // While the command runs, rm and prune leave the entry alone. Marked before the entry is
  // looked up: a removal that sees no mark has renamed the entry away, and the lookup fails.
  const mark = store.markInUse(id);
  if (!mark.isMarked) logger.verbose(`${id} not marked as in use (read-only store?)`);
  try {
    return await execMarked(
      { ...withRoot(options), id },
      store,
      logger,
      hostEnv,
      hostCwd,
      requestedLimits,
      network,
    );
  } finally {
    mark.release();
  }
}

async function execMarked(
  options: ExecOptions,
  store: Store,
  logger: Logger,
  hostEnv: NodeJS.ProcessEnv,
  hostCwd: string,
  requestedLimits: ReturnType<typeof resolveRequestedLimits>,
  network: RunNetwork,
): Promise<ExecResult> {
  const id = options.id;
  // A misspelt capability is a usage error before the entry is read.
  const capabilities =
    options.capAdd?.length || options.capDrop?.length
      ? resolveCapabilities(options.capAdd, options.capDrop)
      : undefined;
  // One read of the entry's metadata, for both its layers and its image config.
  const { layers: entry, metadata } = await store.entryLayersAndMetadata(id);
  // Checks --isolation (an unknown one is a usage error) before the command is looked up.
  const chooser = await createExecBackendChooser({
    preferred: options.isolation ?? emptyToUndefined(hostEnv.POLYTHENE_ISOLATION),
    backendModules: options.backendModules,
    backends: options.backends,
    importModule: options.importModule,
    hostEnv,
    cwd: hostCwd,
    strict: options.strict ?? false,
    logger,
  });
  const isEphemeral = options.ephemeral ?? false;
  const isOwnRoot = options.layers === undefined && options.rootfs === undefined;
  if (!isEphemeral && isOwnRoot) await assertNotABase(store, id);
  // What the command will see, for looking up its user, working directory and binary.
  const viewLayers = options.layers
    ? [options.layers.upperDir, ...options.layers.lowerDirs]
    : options.rootfs !== undefined
      ? [options.rootfs]
      : entry.layout === 'overlay'
        ? [entry.upperDir, ...entry.lowerDirs]
        : [entry.rootfs];
  const resolveInRoot = createRootResolver(viewLayers);
  const config = imageConfigOf(metadata, id, logger);

  const user = await resolveRootfsUser(
    resolveInRoot,
    options.user ?? emptyToUndefined(config.user),
  );
  const env = buildCommandEnvironment({
    imageEnv: config.env,
    envFlags: options.env ?? [],
    hostEnv,
    home: user.home,
    userName: user.name,
  });
  if (options.tty === true) setTerminalType(env, options.env ?? [], hostEnv);
  const binds = (options.binds ?? []).map((bind) =>
    typeof bind === 'string' ? parseBind(bind, hostCwd) : bind,
  );
  if (options.workspace !== undefined) binds.push(workspaceBind(options.workspace, hostCwd));
  const cwd =
    options.workdir ??
    (options.workspace !== undefined ? WORKSPACE_TARGET : emptyToUndefined(config.workingDir)) ??
    '/';
  if (!cwd.startsWith('/')) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--workdir ${cwd}: must be an absolute path inside the rootfs`,
    );
  }
  await assertWorkdirExists(resolveInRoot, cwd, binds);
  const [command = '', ...args] = options.command;
  // A box's holder runs from the helpers' directory the backend binds in, not the image.
  const commandPath =
    options.helpers === true && command.startsWith(`${BOX_HELPERS_DIR}/`)
      ? command
      : await resolveCommandInRootfs(resolveInRoot, command, { path: env.PATH ?? '', cwd });

  // Overlay roots need a backend that mounts overlayfs; an ephemeral run merely prefers one.
  const needsOverlay =
    options.layers !== undefined || (isOwnRoot && entry.layout === 'overlay' && !isEphemeral);
  // Backends found unavailable on this host after all (a stale cached probe): the only ones
  // a run falls back past. See the catch below.
  const unavailable: ExcludedBackend[] = [];
  for (;;) {
    const selection = await chooser.choose(unavailable, {
      needsOverlay,
      needsReadOnlyBinds: binds.some((bind) => bind.readOnly),
      networkMode: network.mode,
    });
    if (options.tty === true && selection.backend.supportsTerminal !== true) {
      throw new PolytheneError(
        'POLYTHENE_SETUP_FAILED',
        `${selection.backend.name} cannot run a command on a terminal of its own (--tty); use --isolation=bwrap, proot or chroot`,
      );
    }
    options.onBackendChosen?.(selection.backend.name, selection.probe.guarantees);
    const canOverlay = selection.probe.canOverlay === true;
    const limits = prepareRunLimits(requestedLimits, { strict: options.strict ?? false, logger });
    const root = await prepareRunRoot(store, id, entry, {
      isEphemeral,
      canOverlay,
      explicit: options.layers,
      explicitRootfs: options.rootfs,
    });
    let networkFiles: NetworkFiles | undefined;
    logger.verbose(
      `running ${commandPath} as ${user.uid}:${user.gid} in ${cwd} with ${selection.backend.name}${root.description}`,
    );
    try {
      networkFiles = await prepareNetworkFiles(network.mode, resolveInRoot, selection, logger);
      const result = await selection.backend.run({
        rootfs: root.rootfs,
        ...(root.overlay ? { overlay: root.overlay } : {}),
        argv: [commandPath, ...args],
        env,
        cwd,
        uid: user.uid,
        gid: user.gid,
        binds: [...networkFiles.binds, ...binds],
        ...(network.mode === 'none' ? {} : { network }),
        stdio: options.stdio ?? 'inherit',
        input: options.input,
        maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
        timeoutMs: options.timeoutMs,
        killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
        forwardSignals: options.forwardSignals ?? false,
        abortSignal: options.abortSignal,
        probe: selection.probe,
        ...(capabilities === undefined ? {} : { capabilities }),
        ...(options.helpers === true ? { helpers: true } : {}),
        spawnHooks: limits.spawnHooks,
        ...(options.tty === true
          ? { terminal: { interactive: options.interactive ?? false } }
          : {}),
      });
      logger.verbose(
        `${selection.backend.name} finished in ${result.durationMs} ms: ${
          result.timedOut
            ? 'timed out'
            : result.signal
              ? `signal ${result.signal}`
              : `exit ${result.exitCode}`
        }`,
      );
      const limitsOutcome = limits.finish(result);
      return {
        ...result,
        ...limitsOutcome,
        guarantees: guaranteesWithNetwork(selection.probe.guarantees, network.mode),
        rootfs: root.rootfs,
        network: network.mode,
      };
    } catch (error) {
      if (!hasErrorCode(error, 'POLYTHENE_SETUP_FAILED')) throw error;
      // The command never started. A set-up failure is this run's answer (125): the entry or
      // the options caused it, and a weaker backend must never be chosen because an image
      // makes the strong one fail. Only a backend whose fresh probe now fails (the host
      // changed since its probe was cached) is passed over for the next.
      const reason = await selection.recheck();
      if (reason === undefined) throw error;
      logger.warn(`${reason}; ${selection.backend.name} is unavailable here now`);
      unavailable.push({ name: selection.backend.name, reason: 'unavailable on a fresh probe' });
    } finally {
      // Not `await using`: its helper costs every exec more than this plain call.
      await networkFiles?.[Symbol.asyncDispose]();
      limits.dispose();
      await root[Symbol.asyncDispose]();
    }
  }
}

/** Writing into an entry that clones are layered on would change what those clones see. */
async function assertNotABase(store: Store, id: string): Promise<void> {
  const dependents = await store.dependentsOf(id);
  if (dependents.length === 0) return;
  const shown =
    dependents.slice(0, 3).join(', ') +
    (dependents.length > 3 ? ` and ${dependents.length - 3} more` : '');
  throw new PolytheneError(
    'POLYTHENE_ENTRY_IN_USE',
    `entry ${id} is the base of clones ${shown}: run in a clone, pass --ephemeral, or remove the clones`,
  );
}

// A given throwaway root runs as its overlay layers, or a copy as a plain rootfs.
function withRoot(options: ExecOptions): ExecOptions {
  const { root } = options;
  if (root === undefined) return options;
  return root.overlay === undefined
    ? { ...options, rootfs: root.rootfs }
    : { ...options, layers: root.overlay };
}

/** The root one run uses, disposed (scratch layers and copies removed) when the run ends. */
interface RunRoot extends AsyncDisposable {
  readonly rootfs: string;
  readonly overlay: OverlayLayers | undefined;
  /** For verbose logs: how the root was made. */
  readonly description: string;
}

async function prepareRunRoot(
  store: Store,
  id: string,
  entry: EntryLayers,
  options: {
    isEphemeral: boolean;
    canOverlay: boolean;
    explicit: OverlayLayers | undefined;
    explicitRootfs: string | undefined;
  },
): Promise<RunRoot> {
  const noDispose = async (): Promise<void> => {};
  if (options.explicitRootfs !== undefined) {
    return {
      rootfs: options.explicitRootfs,
      overlay: undefined,
      description: ` in ${options.explicitRootfs}`,
      [Symbol.asyncDispose]: noDispose,
    };
  }
  if (options.explicit) {
    const { lowerDirs, upperDir } = options.explicit;
    return {
      rootfs: lowerDirs[0] ?? upperDir,
      overlay: options.explicit,
      description: ` on the given overlay`,
      [Symbol.asyncDispose]: noDispose,
    };
  }
  if (options.isEphemeral) {
    await assertStoreWritableFor({ kind: 'ephemeral' }, store.dir);
    // A backend without overlayfs gets a throwaway full copy: slower, same semantics.
    return createThrowawayRoot(store, id, options.canOverlay ? 'overlay' : 'copy');
  }
  if (entry.layout === 'overlay') {
    const { lowerDirs, upperDir, workDir } = entry;
    await assertStoreWritableFor({ kind: 'overlay-clone', id, upperDir }, store.dir);
    return {
      rootfs: lowerDirs[0] ?? upperDir,
      overlay: { lowerDirs, upperDir, workDir },
      description: ` on overlay clone ${upperDir}`,
      [Symbol.asyncDispose]: noDispose,
    };
  }
  return {
    rootfs: entry.rootfs,
    overlay: undefined,
    description: '',
    [Symbol.asyncDispose]: noDispose,
  };
}

function imageConfigOf(
  metadata: EntryMetadata | undefined,
  id: string,
  logger: Logger,
): { env: string[]; workingDir?: string; user?: string } {
  if (metadata !== undefined) return metadata.config;
  // A rootfs without usable metadata (copied in by hand, its metadata deleted) still runs.
  logger.verbose(`no metadata for ${id}; running with an empty image config`);
  return { env: [] };
}

/** A missing working directory is the caller's mistake, not a sandbox failure: say so early. */
async function assertWorkdirExists(
  resolveInRoot: ResolveInRoot,
  cwd: string,
  binds: readonly BindMount[],
): Promise<void> {
  // The root itself is there: the entry's lstat (or the backend's check of a given rootfs)
  // has seen it.
  if (cwd === '/') return;
  const isInsideBind = binds.some(
    (bind) => cwd === bind.target || cwd.startsWith(`${bind.target.replace(/\/$/, '')}/`),
  );
  if (isInsideBind) return;
  const hostPath = await resolveInRoot(cwd);
  if (hostPath !== undefined && statSync(hostPath, { throwIfNoEntry: false })?.isDirectory())
    return;
  throw new PolytheneError('POLYTHENE_USAGE', `--workdir ${cwd}: no such directory in the rootfs`);
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * A terminal is in use: the command gets the host's `TERM` (else `xterm`, as podman's `-t`
 * gives), over the image's, unless `--env` names it.
 */
function setTerminalType(
  env: Record<string, string>,
  envFlags: readonly string[],
  hostEnv: Readonly<Record<string, string | undefined>>,
): void {
  const isNamed = envFlags.some((flag) => flag === 'TERM' || flag.startsWith('TERM='));
  if (!isNamed) env.TERM = emptyToUndefined(hostEnv.TERM) ?? 'xterm';
}
