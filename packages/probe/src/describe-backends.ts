import type { Guarantee, MissingTool, NetworkMode, ProbeContext } from './backend.ts';
import type { BackendRegistry } from './backend-registry.ts';
import { formatProbeFailure } from './format-probe-failure.ts';
import { findLostGuarantees, type LostGuarantee } from './isolation-policy.ts';
import { probeBackend } from './probe-backend.ts';
import type { ProbeCache } from './probe-cache.ts';
import { checkPrivateNetwork } from './run/check-private-network.ts';

/** One backend as `polythene backends` shows it. */
export interface BackendDescription {
  /** Canonical name. */
  readonly name: string;
  /** Other accepted names. */
  readonly aliases: readonly string[];
  /** The backend's one-line description. */
  readonly description: string;
  /** True when it can run commands on this host. */
  readonly available: boolean;
  /**
   * Why it cannot (missing binary with its Debian package, user namespaces refused, not
   * root…); undefined when available.
   */
  readonly reason: string | undefined;
  /** The missing tool, when that is the reason. */
  readonly missing: MissingTool | undefined;
  /** The backend binary's version, when known. */
  readonly version: string | undefined;
  /** Guarantees enforced on this host (empty when unavailable). */
  readonly guarantees: readonly Guarantee[];
  /** Guarantees lost on this host, with reasons (empty when unavailable). */
  readonly lost: readonly LostGuarantee[];
  /**
   * The `--network` modes the backend gives here: its {@link Backend.networkModes} less those
   * this host cannot set up (`private` without slirp4netns, or, unprivileged, without a
   * `/dev/net/tun` this user can open).
   */
  readonly networkModes: readonly NetworkMode[];
  /** The modes the backend has but this host cannot give, each with why (one line). */
  readonly networkModesLost: readonly UnavailableNetworkMode[];
}

/** A network mode a backend has that this host cannot set up. */
export interface UnavailableNetworkMode {
  readonly mode: NetworkMode;
  /** Why, in one line, with the fix (e.g. the package to install). */
  readonly reason: string;
}

/** Options for {@link describeBackends}. */
export interface DescribeBackendsOptions {
  /** Fresh results are stored here, refreshing what later execs use. */
  readonly cache?: ProbeCache;
}

/**
 * Probes every registered backend afresh, in registry order, and describes each: available
 * or why not, version, and the guarantees enforced and lost on this host.
 */
export async function describeBackends(
  registry: BackendRegistry,
  context: ProbeContext,
  options: DescribeBackendsOptions = {},
): Promise<BackendDescription[]> {
  const backends = registry.list();
  // Probes are independent; running them together keeps `polythene backends` quick.
  const outcomes = await Promise.all(
    backends.map((backend) =>
      probeBackend(backend, context, { cache: options.cache, refresh: true }),
    ),
  );
  const privateNetwork = checkPrivateNetwork(context.hostEnv, !context.isRoot);
  return backends.map((backend, index) => {
    const { result } = outcomes[index]!;
    const modes = backend.networkModes ?? ['none'];
    // `private` is the kit's slirp4netns stack (attachPrivateNetwork): the run's own check.
    const networkModesLost: UnavailableNetworkMode[] =
      modes.includes('private') && !privateNetwork.available
        ? [{ mode: 'private', reason: privateNetwork.reason }]
        : [];
    const base = {
      name: backend.name,
      aliases: backend.aliases ?? [],
      description: backend.description,
      networkModes: modes.filter((mode) => !networkModesLost.some((lost) => lost.mode === mode)),
      networkModesLost,
    };
    if (!result.available) {
      return {
        ...base,
        available: false,
        reason: formatProbeFailure(backend.name, result),
        missing: result.missing,
        version: undefined,
        guarantees: [],
        lost: [],
      };
    }
    return {
      ...base,
      available: true,
      reason: undefined,
      missing: undefined,
      version: result.version,
      guarantees: result.guarantees,
      lost: findLostGuarantees(result),
    };
  });
}
