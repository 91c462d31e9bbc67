import { PolytheneError } from '@polythene/errors';
import { ALL_GUARANTEES, type AvailableProbe, type Guarantee } from './backend.ts';

/** A guarantee a backend does not enforce on this host, and why. */
export interface LostGuarantee {
  /** The guarantee. */
  readonly guarantee: Guarantee;
  /** Why it is lost, from the probe (or a generic line when the probe gave none). */
  readonly reason: string;
}

/**
 * The guarantees of `required` (default: all of them, the default policy) that `probe` does
 * not enforce, in table order, each with its reason.
 */
export function findLostGuarantees(
  probe: AvailableProbe,
  required: readonly Guarantee[] = ALL_GUARANTEES,
): LostGuarantee[] {
  const enforced = new Set(probe.guarantees);
  return ALL_GUARANTEES.filter(
    (guarantee) => required.includes(guarantee) && !enforced.has(guarantee),
  ).map((guarantee) => ({
    guarantee,
    reason: probe.lost[guarantee] ?? 'not enforced by this backend',
  }));
}

/** Options for {@link checkIsolationPolicy}. */
export interface IsolationPolicyOptions {
  /** Refuse (throw) instead of warning (`--strict`). */
  readonly strict: boolean;
  /** The backend's name, for the message. */
  readonly backendName?: string;
  /** The guarantees the run asks for; default all of them. */
  readonly required?: readonly Guarantee[];
}

/**
 * Checks a selected backend against the isolation policy. Returns undefined when it enforces
 * every required guarantee, else a one-line warning for stderr; under `strict`, throws
 * `POLYTHENE_SETUP_FAILED` naming the missing guarantees instead. Never a silent downgrade.
 */
export function checkIsolationPolicy(
  probe: AvailableProbe,
  options: IsolationPolicyOptions,
): string | undefined {
  const lost = findLostGuarantees(probe, options.required);
  if (lost.length === 0) return undefined;
  const who = options.backendName === undefined ? 'the backend' : options.backendName;
  const list = lost.map((entry) => `${entry.guarantee} (${entry.reason})`).join(', ');
  if (options.strict) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `--strict refuses ${who}: it cannot enforce ${list}; choose a stronger backend with --isolation (see polythene backends) or drop --strict`,
    );
  }
  return `warning: ${who} runs without ${list}; pass --strict to refuse weaker isolation`;
}
