import { statSync } from 'node:fs';
import { hasErrorCode, PolytheneError } from '@polythene/errors';
import {
  assertCommandGiven,
  type BindMount,
  BOX_HELPERS_DIR,
  DEFAULT_MAX_OUTPUT_BYTES,
  type ExcludedBackend,
  type RunNetwork,
  resolveCapabilities,
} from '@polythene/probe';
import { assertEntryRef, type EntryMetadata, resolveEntryRef, type Store } from '@polythene/store';
import { type Logger, silentLogger } from '../logger.ts';
import { openStoreFromOptions } from '../store-options.ts';
import { createExecBackendChooser } from './backend-selection.ts';
import { buildCommandEnvironment } from './command-environment.ts';
import type { ExecOptions, ExecResult } from './exec-options.ts';
import { markEntryInUse } from './mark-entry-in-use.ts';
import { type NetworkFiles, prepareNetworkFiles } from './network/network-files.ts';
import { guaranteesWithNetwork, resolveNetwork } from './network/resolve-network.ts';
import { parseBind, WORKSPACE_TARGET, workspaceBind } from './parse-bind.ts';
import { type ExecRestOptions, readExecArguments } from './read-exec-arguments.ts';
import { EXEC_USAGE, resolveCommandInRootfs } from './resolve-command.ts';
import { createRootResolver, type ResolveInRoot } from './root-view.ts';
import { resolveRootfsUser } from './rootfs-user.ts';
import { prepareRunLimits, type RunLimits, resolveRequestedLimits } from './run-limits.ts';
import { prepareRunRoot, withRoot } from './run-root.ts';

// The composer of one exec: options read and checked (read-exec-arguments.ts), the entry
// resolved and marked in use, the command looked up in the root, a backend chosen, the root
// prepared (run-root.ts), and the run's result built; expected outcomes are data.

/** How long a forwarded signal may take to end the command before its tree is killed. */
export const DEFAULT_KILL_GRACE_MS: number = 5_000;

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
  // First, so that a cgroup the caller made ahead (the CLI's launcher) is disposed of however
  // the run ends.
  const limits = prepareRunLimits(
    requestedLimits,
    { strict: options.strict ?? false, logger },
    options.runCgroup,
  );
  try {
    const store = await openStoreFromOptions(options, false);
    // UUID, then name, then a hand-made directory of that name.
    const id = resolveEntryRef(store.dir, options.id);
    // While the command runs, rm and prune leave the entry alone. Marked before the entry is
    // looked up: a removal that sees no mark has renamed the entry away, and the lookup fails.
    const mark = markEntryInUse(store, id, hostEnv);
    if (!mark.isMarked) logger.verbose(`${id} not marked as in use (read-only store?)`);
    try {
      return await execMarked(
        { ...withRoot(options), id },
        store,
        logger,
        hostEnv,
        hostCwd,
        limits,
        network,
      );
    } finally {
      mark.release();
    }
  } finally {
    await limits.dispose();
  }
}

async function execMarked(
  options: ExecOptions,
  store: Store,
  logger: Logger,
  hostEnv: NodeJS.ProcessEnv,
  hostCwd: string,
  limits: RunLimits,
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
      const spawnHooks = await limits.ready();
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
        spawnHooks,
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
