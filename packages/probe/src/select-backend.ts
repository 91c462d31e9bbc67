import { PolytheneError } from '@polythene/errors';
import type { AvailableProbe, Backend, MissingTool, ProbeContext } from './backend.ts';
import type { BackendRegistry } from './backend-registry.ts';
import { formatProbeFailure } from './format-probe-failure.ts';
import { orderBackends } from './order-backends.ts';
import { probeBackend } from './probe-backend.ts';
import type { ProbeCache } from './probe-cache.ts';

/** Options for {@link selectBackend}. */
export interface SelectBackendOptions {
  /** The backends to choose from, in probe order. */
  readonly registry: BackendRegistry;
  /** A backend name or alias to probe first (`--isolation`, `POLYTHENE_ISOLATION`). */
  readonly preferred?: string;
  /** What probes are told about the host. */
  readonly context: ProbeContext;
  /** Remembered probe results; without one every backend is probed. */
  readonly cache?: ProbeCache;
  /**
   * Backends to pass over without probing: a name, or a name with the reason (for the log),
   * e.g. one the caller knows cannot run this entry, or one found unavailable on a fresh probe.
   */
  readonly exclude?: readonly (string | ExcludedBackend)[];
  /** Receives one line per backend considered (verbose output). */
  readonly log?: (line: string) => void;
}

/** A backend the caller passes over, and why (one clause, for the verbose log). */
export interface ExcludedBackend {
  /** The backend's name or alias. */
  readonly name: string;
  /** Why, e.g. `cannot mount an overlay root`. */
  readonly reason: string;
}

/** A backend that was passed over, and why. */
export interface SkippedBackend {
  /** The backend's name. */
  readonly name: string;
  /** One clause saying why, e.g. `bwrap not found (apt install bubblewrap)`. */
  readonly reason: string;
  /** The missing tool, when that is the reason. */
  readonly missing?: MissingTool;
  /** True when the caller excluded it (`exclude`); false when its probe said unavailable. */
  readonly isExcluded?: boolean;
}

/** The backend that will run the command. */
export interface BackendSelection {
  /** The first available backend in probe order. */
  readonly backend: Backend;
  /** Its probe result, to pass to `run` as `spec.probe`. */
  readonly probe: AvailableProbe;
  /** True when the probe result came from the cache. */
  readonly isCached: boolean;
  /** The backends tried before it, in order, with the reason each was passed over. */
  readonly skipped: readonly SkippedBackend[];
}

/**
 * Probes the backends in order (preferred first) and returns the first available one.
 * Throws `POLYTHENE_NO_BACKEND` when none is, with a one-line message naming every missing
 * tool and its Debian package; `POLYTHENE_USAGE` when `preferred` names no backend.
 */
export async function selectBackend(options: SelectBackendOptions): Promise<BackendSelection> {
  const { context, cache } = options;
  const log = options.log ?? (() => {});
  const excluded = new Map<string, string>();
  for (const entry of options.exclude ?? []) {
    const { name, reason } =
      typeof entry === 'string' ? { name: entry, reason: 'excluded by the caller' } : entry;
    excluded.set(options.registry.get(name)?.name ?? name, reason);
  }
  const skipped: SkippedBackend[] = [];
  for (const backend of orderBackends(options.registry, options.preferred)) {
    const exclusion = excluded.get(backend.name);
    if (exclusion !== undefined) {
      skipped.push({
        name: backend.name,
        reason: `${backend.name}: ${exclusion}`,
        isExcluded: true,
      });
      log(`backend ${backend.name}: skipped (${exclusion})`);
      continue;
    }
    const { result, isCached } = await probeBackend(backend, context, { cache });
    const source = isCached ? 'cached' : 'probed';
    if (result.available) {
      log(`backend ${backend.name}: available (${source})`);
      return { backend, probe: result, isCached, skipped };
    }
    const reason = formatProbeFailure(backend.name, result);
    log(`backend ${backend.name}: unavailable (${source}): ${reason}`);
    skipped.push(
      result.missing === undefined
        ? { name: backend.name, reason }
        : { name: backend.name, reason, missing: result.missing },
    );
  }
  throw new PolytheneError('POLYTHENE_NO_BACKEND', formatNoBackendMessage(skipped));
}

function formatNoBackendMessage(skipped: readonly SkippedBackend[]): string {
  if (skipped.length === 0) {
    return 'no backend can run here: none is registered; install @polythene/backend-bwrap, -proot or -chroot, or pass --backend-module';
  }
  return `no backend can run here: ${skipped.map((entry) => entry.reason).join('; ')}`;
}
