import { PolytheneError } from '@polythene/errors';
import {
  type Backend,
  type Guarantee,
  NETWORK_MODES,
  type NetworkMode,
  type PublishedPort,
  type RunNetwork,
} from '@polythene/probe';

/** `HOST_PORT:BOX_PORT[/tcp|udp]` as `--publish` takes it. */
const PUBLISH_FORM = 'HOST_PORT:BOX_PORT[/tcp|udp]';

/** What {@link resolveNetwork} reads. */
export interface NetworkRequest {
  /** `--network` / the API option; wins over the environment. */
  readonly network?: string;
  /** `--publish` values or parsed ports. */
  readonly publish?: readonly (string | PublishedPort)[];
  /** Holds `POLYTHENE_NETWORK`. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** True when polythene runs as root (may publish host ports below 1024). */
  readonly isRoot: boolean;
}

/**
 * The network a run asks for: the mode from the option, else `POLYTHENE_NETWORK`, else
 * `none`; and the published ports, checked. Bad input is `POLYTHENE_USAGE` (exit 2) naming
 * the valid forms.
 */
export function resolveNetwork(request: NetworkRequest): RunNetwork {
  const given = request.network ?? emptyToUndefined(request.hostEnv.POLYTHENE_NETWORK);
  const mode = parseNetworkMode(given ?? 'none', request.network === undefined);
  const publish = (request.publish ?? []).map((value) =>
    typeof value === 'string' ? parsePublish(value) : checkPort(value),
  );
  if (publish.length > 0 && mode !== 'private') {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--publish needs --network private (the network mode is ${mode})`,
    );
  }
  for (const port of publish) {
    if (port.hostPort < 1024 && !request.isRoot) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `--publish ${port.hostPort}:${port.boxPort}: host ports below 1024 need root; use a port from 1024 to 65535`,
      );
    }
  }
  return { mode, publish };
}

/** A mode the chosen backend cannot give is a set-up failure (125), never a silent change. */
export function assertNetworkMode(backend: Backend, mode: NetworkMode): void {
  const modes = backend.networkModes ?? ['none'];
  if (modes.includes(mode)) return;
  const why =
    backend.name === 'proot'
      ? 'proot makes no namespace, so it cannot give the box a network of its own'
      : `${backend.name} gives only ${modes.join(', ')}`;
  throw new PolytheneError(
    'POLYTHENE_SETUP_FAILED',
    `--network ${mode}: ${why}; use --isolation=bwrap or chroot`,
  );
}

/** What a run enforced: with a network asked for, no-network is not among it. */
export function guaranteesWithNetwork(
  guarantees: readonly Guarantee[],
  mode: NetworkMode,
): readonly Guarantee[] {
  return mode === 'none' ? guarantees : guarantees.filter((guarantee) => guarantee !== 'network');
}

function parseNetworkMode(value: string, isFromEnv: boolean): NetworkMode {
  const mode = NETWORK_MODES.find((known) => known === value);
  if (mode !== undefined) return mode;
  const source = isFromEnv ? 'POLYTHENE_NETWORK' : '--network';
  throw new PolytheneError(
    'POLYTHENE_USAGE',
    `${source} ${JSON.stringify(value)}: unknown network mode; use none, host or private`,
  );
}

/** Parses `HOST_PORT:BOX_PORT[/tcp|udp]`. */
export function parsePublish(value: string): PublishedPort {
  const match = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(value);
  if (match === null) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--publish ${JSON.stringify(value)}: expected ${PUBLISH_FORM}, e.g. 8080:80 or 5353:53/udp`,
    );
  }
  return checkPort({
    hostPort: Number(match[1]),
    boxPort: Number(match[2]),
    protocol: match[3] === 'udp' ? 'udp' : 'tcp',
  });
}

function checkPort(port: PublishedPort): PublishedPort {
  const isPort = (value: number): boolean =>
    Number.isInteger(value) && value >= 1 && value <= 65535;
  if (!isPort(port.hostPort) || !isPort(port.boxPort) || !['tcp', 'udp'].includes(port.protocol)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--publish ${port.hostPort}:${port.boxPort}/${port.protocol}: expected ${PUBLISH_FORM} with ports from 1 to 65535`,
    );
  }
  return port;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
