import type { Backend, ProbeContext, ProbeResult } from './backend.ts';
import type { ProbeCache } from './probe-cache.ts';

/** A probe result and where it came from. */
export interface ProbeOutcome {
  /** What the backend (or the cache) says. */
  readonly result: ProbeResult;
  /** True when the result came from the probe cache and no probing ran. */
  readonly isCached: boolean;
}

/** Options for {@link probeBackend}. */
export interface ProbeBackendOptions {
  /** Where results are looked up first and stored after a fresh probe. */
  readonly cache?: ProbeCache;
  /** Probe afresh even when the cache has a result (the fresh one is stored). */
  readonly refresh?: boolean;
}

/**
 * Probes one backend, through the cache when one is given. A probe that throws or resolves
 * something that is not a probe result counts as unavailable (with the reason) and is not
 * cached: a custom backend's bug must not stop the others from being tried.
 */
export async function probeBackend(
  backend: Backend,
  context: ProbeContext,
  options: ProbeBackendOptions = {},
): Promise<ProbeOutcome> {
  const { cache } = options;
  if (cache !== undefined && options.refresh !== true) {
    const cached = cache.lookup(backend, context);
    if (cached !== undefined) return { result: cached, isCached: true };
  }
  let result: unknown;
  try {
    result = await backend.probe(context);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      result: { available: false, reason: `${backend.name} probe failed: ${message}` },
      isCached: false,
    };
  }
  if (!isProbeResult(result)) {
    return {
      result: {
        available: false,
        reason: `${backend.name} probe returned a malformed result (fix the backend's probe)`,
      },
      isCached: false,
    };
  }
  cache?.store(backend, context, result);
  return { result, isCached: false };
}

function isProbeResult(value: unknown): value is ProbeResult {
  if (typeof value !== 'object' || value === null) return false;
  const result = value as Record<string, unknown>;
  if (result.available === false) return typeof result.reason === 'string';
  return (
    result.available === true &&
    Array.isArray(result.guarantees) &&
    typeof result.lost === 'object' &&
    result.lost !== null &&
    typeof result.details === 'object' &&
    result.details !== null
  );
}
