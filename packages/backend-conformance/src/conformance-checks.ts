import type {
  ConformanceCheck,
  ConformanceCheckResult,
  ConformanceContext,
} from './conformance-types.ts';
import { ESCAPE_CHECKS } from './escape-checks.ts';
import { HOSTILE_IMAGE_CHECKS } from './hostile-image-checks.ts';
import { ISOLATION_CHECKS } from './isolation-checks.ts';
import { OVERLAY_CHECKS } from './overlay-checks.ts';
import { RUN_CHECKS } from './run-checks.ts';
import { SUPERVISION_CHECKS } from './supervision-checks.ts';

export type {
  ConformanceCheck,
  ConformanceCheckResult,
  ConformanceContext,
  TextRunResult,
} from './conformance-types.ts';
export {
  createMarker,
  findSleepers,
  HOST_SECRETS,
  runInSandbox,
  runShell,
  waitFor,
} from './sandbox-helpers.ts';

/** Every check, in the order a suite runs them: one group per file. */
export const CONFORMANCE_CHECKS: readonly ConformanceCheck[] = [
  ...RUN_CHECKS,
  ...SUPERVISION_CHECKS,
  ...ISOLATION_CHECKS,
  ...OVERLAY_CHECKS,
  ...HOSTILE_IMAGE_CHECKS,
  ...ESCAPE_CHECKS,
];
/**
 * Runs every check in sequence without vitest (e.g. in a script run as another user) and
 * reports each outcome as data.
 */
export async function runConformanceChecks(
  context: ConformanceContext,
  checks: readonly ConformanceCheck[] = CONFORMANCE_CHECKS,
): Promise<ConformanceCheckResult[]> {
  const results: ConformanceCheckResult[] = [];
  for (const check of checks) {
    const notApplicable = findNotApplicable(check, context);
    if (notApplicable !== undefined) {
      try {
        await verifyHonesty(check, context);
        results.push({ name: check.name, status: 'passed', notApplicable });
      } catch (error) {
        results.push({
          name: check.name,
          status: 'failed',
          error: error instanceof Error ? error.message : String(error),
        });
      }
      continue;
    }
    try {
      await check.run(context);
      results.push({ name: check.name, status: 'passed' });
    } catch (error) {
      results.push({
        name: check.name,
        status: 'failed',
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return results;
}

/**
 * Why `check` does not apply to the context's backend here (an unclaimed guarantee, or its
 * own reason), or undefined when it does.
 */
export function findNotApplicable(
  check: ConformanceCheck,
  context: ConformanceContext,
): string | undefined {
  if (check.guarantee !== undefined && !context.probe.guarantees.includes(check.guarantee)) {
    return `${context.backend.name} does not claim "${check.guarantee}" here: ${context.probe.lost[check.guarantee] ?? 'no reason given'}`;
  }
  return check.notApplicableReason?.(context);
}

/**
 * What a backend owes when a check does not apply: an unclaimed guarantee is reported lost
 * with a reason (so `polythene backends`, the warning and `--strict` can say so), and the
 * check's own `verifyNotApplicable` holds.
 */
export async function verifyHonesty(
  check: ConformanceCheck,
  context: ConformanceContext,
): Promise<void> {
  if (check.guarantee !== undefined && !context.probe.guarantees.includes(check.guarantee)) {
    const reason = context.probe.lost[check.guarantee];
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(
        `${context.backend.name} neither claims "${check.guarantee}" nor reports it lost with a reason`,
      );
    }
    return;
  }
  await check.verifyNotApplicable?.(context);
}
