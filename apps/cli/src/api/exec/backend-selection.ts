import { createBwrapBackend } from '@polythene/backend-bwrap';
import { createChrootBackend } from '@polythene/backend-chroot';
import { createProotBackend } from '@polythene/backend-proot';
import { hasErrorCode, PolytheneError } from '@polythene/errors';
import {
  type AvailableProbe,
  type Backend,
  type BackendRegistry,
  checkIsolationPolicy,
  createProbeCache,
  createProbeContext,
  createRegistry,
  findLostGuarantees,
  loadBackendModule,
  parseBackendList,
  selectBackend,
} from '@polythene/probe';
import { findModuleImporter } from '../../launcher/module-importer.ts';
import type { Logger } from '../../logger.ts';

/** The built-in backends, in the default probe order. */
export function createBuiltinBackends(): Backend[] {
  return [createBwrapBackend(), createProotBackend(), createChrootBackend()];
}

/** Options for {@link createExecRegistry}. */
export interface ExecRegistryOptions {
  /** Custom backend modules from `--backend-module`. */
  readonly backendModules?: readonly string[];
  /** Environment holding `POLYTHENE_BACKENDS`. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** Where relative module paths are resolved from. */
  readonly cwd: string;
}

let builtinRegistry: BackendRegistry | undefined;

/** The built-ins, then every custom backend named by flag or by `POLYTHENE_BACKENDS`. */
export async function createExecRegistry(options: ExecRegistryOptions): Promise<BackendRegistry> {
  const registry = createRegistry(createBuiltinBackends());
  const specifiers = [
    ...parseBackendList(options.hostEnv.POLYTHENE_BACKENDS),
    ...(options.backendModules ?? []),
  ];
  for (const specifier of specifiers) {
    const importModule = findModuleImporter();
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

/** What the root of a run asks of a backend. */
export interface RootRequirements {
  /** The root is an overlay: only backends whose probe says `canOverlay` can run it. */
  readonly needsOverlay: boolean;
}

/** Chooses backends for one exec. */
export interface ExecBackendChooser {
  /**
   * The first working backend not in `failed` that meets `requirements`, with the isolation
   * policy applied.
   */
  choose(failed: readonly string[], requirements?: RootRequirements): Promise<ExecBackendSelection>;
}

/** The backend an exec will use, with a way to forget its cached probe after a set-up failure. */
export interface ExecBackendSelection {
  readonly backend: Backend;
  readonly probe: AvailableProbe;
  /** Drops the cached probe result so the next exec probes this backend again. */
  forget(): Promise<void>;
}

/**
 * Picks the first working backend (preferred first) from the probe cache, probing only what
 * is not cached, and applies the isolation policy: a warning on stderr for fewer guarantees,
 * or a refusal under `strict`. A backend that then fails to set up is forgotten by the cache
 * and passed over on the next `choose`.
 */
export async function createExecBackendChooser(
  options: SelectExecBackendOptions,
): Promise<ExecBackendChooser> {
  const { logger } = options;
  const hasCustomBackends =
    (options.backendModules?.length ?? 0) > 0 ||
    parseBackendList(options.hostEnv.POLYTHENE_BACKENDS).length > 0;
  // The built-ins alone are the same every time: build them once per process. The chooser
  // only reads its registry.
  builtinRegistry ??= createRegistry(createBuiltinBackends());
  const registry = hasCustomBackends ? await createExecRegistry(options) : builtinRegistry;
  const cache = createProbeCache({
    env: options.hostEnv,
    log: (line) => logger.verbose(line),
    // A process running many execs (the API in a test suite) re-reads the host each second.
    reuseFingerprintsMs: 1_000,
  });
  const context = createProbeContext(options.hostEnv);
  return {
    async choose(failed, requirements) {
      const excluded = [...failed];
      let selection: Awaited<ReturnType<typeof selectBackend>>;
      for (;;) {
        try {
          selection = await selectBackend({
            registry,
            preferred: options.preferred,
            context,
            cache,
            exclude: excluded,
            log: (line) => logger.verbose(line),
          });
        } catch (error) {
          if (excluded.length > failed.length && hasErrorCode(error, 'POLYTHENE_NO_BACKEND')) {
            throw new PolytheneError(
              'POLYTHENE_NO_BACKEND',
              `this entry is an overlay clone and no backend here can mount overlayfs (bwrap 0.8+ with user namespaces, or chroot as root); clone it with --method copy instead. ${error.message}`,
            );
          }
          throw error;
        }
        if (!requirements?.needsOverlay || selection.probe.canOverlay === true) break;
        logger.verbose(`backend ${selection.backend.name}: skipped (cannot mount an overlay root)`);
        excluded.push(selection.backend.name);
      }
      // Under --strict this throws, naming every missing guarantee with its reason.
      checkIsolationPolicy(selection.probe, {
        strict: options.strict,
        backendName: selection.backend.name,
      });
      const lost = findLostGuarantees(selection.probe);
      if (lost.length > 0) {
        // One short line; `polythene backends` has the reasons.
        logger.warn(
          `${selection.backend.name} runs without ${lost.map((entry) => entry.guarantee).join(', ')} isolation (see polythene backends; --strict refuses)`,
        );
      }
      return {
        backend: selection.backend,
        probe: selection.probe,
        async forget() {
          cache.invalidate(selection.backend.name);
        },
      };
    },
  };
}
