import { hasErrorCode, PolytheneError } from '@polythene/errors';
import {
  ALL_GUARANTEES,
  type AvailableProbe,
  type Backend,
  type BackendRegistry,
  checkIsolationPolicy,
  createProbeCache,
  createProbeContext,
  createRegistry,
  type ExcludedBackend,
  findLostGuarantees,
  formatLostWarning,
  formatProbeFailure,
  loadBackendModule,
  type NetworkMode,
  type ProbeContext,
  parseBackendList,
  probeBackend,
  selectBackend,
} from '@polythene/probe';
import type { Logger } from '../logger.ts';
import { type BackendSource, requireBackends } from './backend-source.ts';
import { assertNetworkMode } from './network/resolve-network.ts';

/** Options for {@link createExecRegistry}. */
export interface ExecRegistryOptions extends BackendSource {
  /** Custom backend modules from `--backend-module`. */
  readonly backendModules?: readonly string[];
  /** Environment holding `POLYTHENE_BACKENDS`. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** Where relative module paths are resolved from. */
  readonly cwd: string;
}

// A registry per list of backends the callers passed: the same list (the CLI's built-ins) is
// registered once per process. The chooser only reads its registry.
const registries = new WeakMap<readonly Backend[], BackendRegistry>();

/** The caller's backends, then every custom backend named by flag or by `POLYTHENE_BACKENDS`. */
export async function createExecRegistry(options: ExecRegistryOptions): Promise<BackendRegistry> {
  const specifiers = [
    ...parseBackendList(options.hostEnv.POLYTHENE_BACKENDS),
    ...(options.backendModules ?? []),
  ];
  // A custom backend module alone is enough to run.
  const backends =
    specifiers.length > 0 && (options.backends === undefined || options.backends.length === 0)
      ? []
      : requireBackends(options.backends, 'exec');
  const registry = createRegistry(backends);
  for (const specifier of specifiers) {
    const { importModule } = options;
    registry.register(
      await loadBackendModule(specifier, {
        cwd: options.cwd,
        ...(importModule === undefined ? {} : { importModule }),
      }),
    );
  }
  return registry;
}

/** Options for {@link selectExecBackend}. */
export interface SelectExecBackendOptions extends ExecRegistryOptions {
  /** `--isolation` / `POLYTHENE_ISOLATION`. */
  readonly preferred: string | undefined;
  /** `--strict`: refuse a backend with fewer than its default guarantees. */
  readonly strict: boolean;
  readonly logger: Logger;
}

const OVERLAY_UNMET = 'cannot mount an overlay root';
const READ_ONLY_UNMET = 'cannot make a bind read-only';

/** What a run asks of a backend beyond running a command. */
export interface RootRequirements {
  /** The root is an overlay: only backends whose probe says `canOverlay` can run it. */
  readonly needsOverlay: boolean;
  /** A bind is read-only: backends whose probe says `canBindReadOnly: false` are passed over. */
  readonly needsReadOnlyBinds?: boolean;
  /**
   * The `--network` mode: one the backend cannot give is refused (125) before any warning;
   * with `host` or `private`, no-network is not a guarantee the run asks for.
   */
  readonly networkMode?: NetworkMode;
}

/** Chooses backends for one exec. */
export interface ExecBackendChooser {
  /**
   * The first available backend not in `unavailable` that meets `requirements`, with the
   * isolation policy applied.
   */
  choose(
    unavailable: readonly ExcludedBackend[],
    requirements?: RootRequirements,
  ): Promise<ExecBackendSelection>;
}

/** The backend an exec will use, with a way to probe it afresh after a set-up failure. */
export interface ExecBackendSelection {
  readonly backend: Backend;
  readonly probe: AvailableProbe;
  /**
   * After a set-up failure: probes the backend afresh (its cached probe may be stale, the
   * host changed) and resolves undefined when it is still available here, else why it is not.
   * A probe made by this same lookup is not repeated.
   */
  recheck(): Promise<string | undefined>;
}

/**
 * Picks the first available backend (preferred first) from the probe cache, probing only
 * what is not cached, and applies the isolation policy: a warning on stderr for fewer
 * guarantees, or a refusal under `strict`. A backend known beforehand to be unable to run the
 * entry (an overlay root, a read-only bind) is passed over; when it is the preferred one, with
 * one warning line, or a refusal (125) under `strict`.
 */
export async function createExecBackendChooser(
  options: SelectExecBackendOptions,
): Promise<ExecBackendChooser> {
  const { logger } = options;
  const hasCustomBackends =
    (options.backendModules?.length ?? 0) > 0 ||
    parseBackendList(options.hostEnv.POLYTHENE_BACKENDS).length > 0;
  let registry: BackendRegistry;
  if (hasCustomBackends) {
    registry = await createExecRegistry(options);
  } else {
    const backends = requireBackends(options.backends, 'exec');
    registry = registries.get(backends) ?? (await createExecRegistry(options));
    registries.set(backends, registry);
  }
  const cache = createProbeCache({
    env: options.hostEnv,
    log: (line) => logger.verbose(line),
    // A process running many execs (the API in a test suite) re-reads the host each second.
    reuseFingerprintsMs: SELECTION_REUSE_MS,
  });
  const context = createProbeContext(options.hostEnv);
  // Within that same second the answer of a lookup is the same too: such a process skips it.
  // Only for the built-ins (custom modules are loaded anew for each exec), and not when
  // verbose, which says how each backend was chosen.
  const canReuse = !hasCustomBackends && !logger.isVerbose;
  // An unknown --isolation is a usage error (2) naming the valid backends, before any run.
  const preferredName =
    options.preferred === undefined || options.preferred.trim() === ''
      ? undefined
      : registry.resolveName(options.preferred);
  return {
    async choose(unavailable, requirements) {
      const excluded: ExcludedBackend[] = [...unavailable];
      // Backends that probed fine but cannot run this entry (overlay root, read-only bind).
      const passedOver = new Map<string, string>();
      let selection: Selection;
      for (;;) {
        try {
          const key = canReuse
            ? selectionKey(options.preferred, excluded, context, cache.path, registry)
            : undefined;
          selection =
            recallSelection(key) ??
            rememberSelection(
              key,
              await selectBackend({
                registry,
                preferred: options.preferred,
                context,
                cache,
                exclude: excluded,
                log: (line) => logger.verbose(line),
              }),
            );
        } catch (error) {
          const unmet = new Set(passedOver.values());
          if (hasErrorCode(error, 'POLYTHENE_NO_BACKEND') && unmet.has(OVERLAY_UNMET)) {
            throw new PolytheneError(
              'POLYTHENE_NO_BACKEND',
              `this entry is an overlay clone and no backend here can mount overlayfs (bwrap 0.8+ with user namespaces, or chroot as root); clone it with --method copy instead. ${error.message}`,
            );
          }
          if (hasErrorCode(error, 'POLYTHENE_NO_BACKEND') && unmet.has(READ_ONLY_UNMET)) {
            // The run cannot be set up as asked, as under --strict: 125, not 126.
            throw new PolytheneError(
              'POLYTHENE_SETUP_FAILED',
              `no backend here can make a bind read-only (proot cannot; bwrap needs user namespaces unless run as root, chroot needs root): bind it read-write. ${error.message}`,
            );
          }
          throw error;
        }
        const unmet =
          requirements?.needsOverlay && selection.probe.canOverlay !== true
            ? OVERLAY_UNMET
            : requirements?.needsReadOnlyBinds && selection.probe.canBindReadOnly === false
              ? READ_ONLY_UNMET
              : undefined;
        if (unmet === undefined) break;
        passedOver.set(selection.backend.name, unmet);
        excluded.push({ name: selection.backend.name, reason: unmet });
      }
      reportPassedOverPreference(preferredName, passedOver, selection, options);
      for (const skipped of selection.skipped) {
        // The Python tool's wording, which users' scripts match.
        if (!skipped.isExcluded) {
          logger.verbose(
            `${displayName(skipped.name)} unavailable: falling back to ${displayName(selection.backend.name)}`,
          );
        }
      }
      // Under --strict this throws, naming every missing guarantee with its reason.
      const networkMode = requirements?.networkMode ?? 'none';
      assertNetworkMode(selection.backend, networkMode);
      const required =
        networkMode !== 'none'
          ? ALL_GUARANTEES.filter((guarantee) => guarantee !== 'network')
          : ALL_GUARANTEES;
      checkIsolationPolicy(selection.probe, {
        strict: options.strict,
        backendName: selection.backend.name,
        required,
      });
      const lost = findLostGuarantees(selection.probe, required);
      if (lost.length > 0) {
        // One short line; `polythene backends` has the reasons (the ids fix is on the line).
        logger.warn(formatLostWarning(selection.backend.name, lost));
      }
      const chosen = selection;
      return {
        backend: chosen.backend,
        probe: chosen.probe,
        async recheck() {
          recentSelections.clear();
          if (!chosen.isCached) return undefined;
          cache.invalidate(chosen.backend.name);
          const { result } = await probeBackend(chosen.backend, context, {
            cache,
            refresh: true,
          });
          return result.available ? undefined : formatProbeFailure(chosen.backend.name, result);
        },
      };
    },
  };
}

/**
 * `--isolation` is a preference: a preferred backend that cannot run this entry is passed
 * over with one warning naming why, or refused under `--strict` (125).
 */
function reportPassedOverPreference(
  preferredName: string | undefined,
  passedOver: ReadonlyMap<string, string>,
  selection: Selection,
  options: SelectExecBackendOptions,
): void {
  const unmet = preferredName === undefined ? undefined : passedOver.get(preferredName);
  if (unmet === undefined) return;
  const why = `${preferredName} ${unmet}`;
  if (options.strict) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `--isolation ${options.preferred}: ${why}, and --strict refuses another backend; drop --strict or --isolation, or clone with --method copy`,
    );
  }
  options.logger.warn(`${why}: running with ${selection.backend.name} instead`);
}

// The Python tool called bwrap by its package name in messages users match.
function displayName(name: string): string {
  return name === 'bwrap' ? 'bubblewrap' : name;
}

/** How long a process reuses what it read of the host and the probe cache (see `choose`). */
const SELECTION_REUSE_MS = 1_000;

type Selection = Awaited<ReturnType<typeof selectBackend>>;

// What `choose` found lately, by what decides it: the same inputs the probe cache's
// fingerprints and reuse window depend on. Cleared when a chosen backend fails to set up.
const recentSelections = new Map<
  string,
  { readonly selection: Selection; readonly atMs: number }
>();

function selectionKey(
  preferred: string | undefined,
  excluded: readonly ExcludedBackend[],
  context: ProbeContext,
  cachePath: string,
  registry: BackendRegistry,
): string {
  // The uid decides `context.isRoot` too.
  return JSON.stringify([
    registryId(registry),
    process.geteuid?.() ?? -1,
    preferred ?? '',
    excluded.map((entry) => entry.name),
    context.hostEnv.PATH ?? '',
    cachePath,
  ]);
}

// Callers with different backend lists in one process must not share answers.
const registryIds = new WeakMap<BackendRegistry, number>();
let lastRegistryId = 0;
function registryId(registry: BackendRegistry): number {
  let id = registryIds.get(registry);
  if (id === undefined) {
    lastRegistryId += 1;
    id = lastRegistryId;
    registryIds.set(registry, id);
  }
  return id;
}

function recallSelection(key: string | undefined): Selection | undefined {
  const recent = key === undefined ? undefined : recentSelections.get(key);
  return recent !== undefined && Date.now() - recent.atMs < SELECTION_REUSE_MS
    ? recent.selection
    : undefined;
}

function rememberSelection(key: string | undefined, selection: Selection): Selection {
  if (key === undefined) return selection;
  const now = Date.now();
  // A process whose execs vary the key (a test suite giving each test its own HOME) keeps
  // only what may still be reused.
  if (recentSelections.size >= 16) {
    for (const [staleKey, recent] of recentSelections) {
      if (now - recent.atMs >= SELECTION_REUSE_MS) recentSelections.delete(staleKey);
    }
  }
  recentSelections.set(key, { selection, atMs: now });
  return selection;
}
