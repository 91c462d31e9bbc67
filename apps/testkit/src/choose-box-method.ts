import { canRunOverlayHere } from '@polythene/core';
import {
  type Backend,
  createProbeCache,
  createProbeContext,
  createRegistry,
  loadBackendModule,
  parseBackendList,
  selectBackend,
} from '@polythene/probe';

/** How a box gets its own root: an overlay layer (constant time) or a full copy. */
export type BoxMethod = 'overlay' | 'copy';

/** Options for {@link chooseBoxMethod}. */
export interface ChooseBoxMethodOptions {
  /** What the caller asked for; `auto` decides by probing. */
  readonly requested: BoxMethod | 'auto';
  /** The preferred backend (`isolation` option, else `POLYTHENE_ISOLATION`). */
  readonly isolation: string | undefined;
  /** Environment holding `POLYTHENE_*`. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** The backends boxes run with (see findBackends). */
  readonly backends: readonly Backend[];
}

/**
 * Picks the box method. `auto` with a preferred backend asks whether *that* backend (the one
 * exec will probe first) can mount an overlay root: picking overlay otherwise would make
 * exec pass over the user's choice for one that can. Without a preference, any backend that
 * can will do (`canRunOverlayHere`).
 */
export async function chooseBoxMethod(options: ChooseBoxMethodOptions): Promise<BoxMethod> {
  if (options.requested !== 'auto') return options.requested;
  const { hostEnv, isolation } = options;
  if (isolation === undefined) {
    return (await canRunOverlayHere({ hostEnv, backends: options.backends })) ? 'overlay' : 'copy';
  }
  const registry = createRegistry(options.backends);
  for (const specifier of parseBackendList(hostEnv.POLYTHENE_BACKENDS)) {
    registry.register(await loadBackendModule(specifier, { cwd: process.cwd() }));
  }
  try {
    const selection = await selectBackend({
      registry,
      preferred: isolation,
      context: createProbeContext(hostEnv),
      cache: createProbeCache({ env: hostEnv }),
    });
    return selection.probe.canOverlay === true ? 'overlay' : 'copy';
  } catch {
    // No backend at all: the first exec reports that with the full message.
    return 'copy';
  }
}
