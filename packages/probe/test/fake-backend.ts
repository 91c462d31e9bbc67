import type { AvailableProbe, Backend, Guarantee, ProbeResult } from '../src/backend.ts';
import { ALL_GUARANTEES } from '../src/backend.ts';

/** A backend whose probe resolves `result` and counts its calls; `run` must never be reached. */
export interface FakeBackend extends Backend {
  readonly probeCalls: () => number;
}

/** Creates a fake backend for pure-logic tests. */
export function createFakeBackend(
  name: string,
  result: ProbeResult | (() => Promise<ProbeResult>),
  extra: Partial<Pick<Backend, 'aliases' | 'binaries' | 'networkModes'>> = {},
): FakeBackend {
  let calls = 0;
  return {
    name,
    description: `fake ${name}`,
    ...extra,
    probeCalls: () => calls,
    async probe() {
      calls += 1;
      return typeof result === 'function' ? result() : result;
    },
    async run() {
      throw new Error(`fake backend ${name} cannot run`);
    },
  };
}

/** An available probe enforcing `guarantees` (default: all), losing the rest with `lost`. */
export function availableProbe(
  guarantees: readonly Guarantee[] = ALL_GUARANTEES,
  lost: AvailableProbe['lost'] = {},
): AvailableProbe {
  return { available: true, version: '1.0', guarantees, lost, details: { binary: '/bin/fake' } };
}
