import { fileURLToPath } from 'node:url';
import type { Guarantee, ProbeResult } from '@polythene/probe';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_CHECKS, type ConformanceCheckResult } from './conformance-checks.ts';

/** Options for {@link defineScriptedConformanceSuite}. */
export interface ScriptedConformanceSuiteOptions {
  /** Suite title, e.g. `bwrap as an unprivileged user`. */
  readonly title: string;
  /** Absolute path of the module that exports the backend factory. */
  readonly backendModule: string;
  /** Name of the factory export, e.g. `createBwrapBackend`. */
  readonly factory: string;
  /** A busybox rootfs the other user may write to. */
  readonly rootfs: () => Promise<string>;
  /**
   * Runs `argv` (the conformance script under tsx) as the other user or in the other world and
   * resolves its stdout; `argv[0]` is the tsx binary.
   */
  readonly runScript: (argv: string[]) => Promise<string>;
  /** Only checks whose name contains this text (all by default). */
  readonly filter?: string;
  /** What the backend must achieve in that world. */
  readonly expect?: {
    /** False when the backend must probe unavailable there (default true). */
    readonly available?: boolean;
    /** When unavailable: the reason must match this. */
    readonly unavailableReason?: RegExp;
    /** Guarantees the probe must claim there. */
    readonly guarantees?: readonly Guarantee[];
    /** When set, the probe's `canOverlay` must be exactly this there (absent counts as false). */
    readonly canOverlay?: boolean;
  };
}

/** The conformance script, for {@link ScriptedConformanceSuiteOptions.runScript}. */
export const CONFORMANCE_SCRIPT_PATH: string = fileURLToPath(
  // Next to this module: the source when run from source, the built script from the package.
  new URL(
    import.meta.url.endsWith('.ts')
      ? './run-conformance-script.ts'
      : './run-conformance-script.mjs',
    import.meta.url,
  ),
);

/**
 * Declares a vitest suite that runs the conformance checks in ANOTHER process (another user, a
 * host with user namespaces refused) through `runScript`, then reports each check as its own
 * test: the world of an unprivileged CI runner, checked for real from a root test run.
 */
export function defineScriptedConformanceSuite(options: ScriptedConformanceSuiteOptions): void {
  describe(options.title, { timeout: 300_000 }, () => {
    let outcome: { probe: ProbeResult; results: ConformanceCheckResult[] } | undefined;
    let failure: unknown;

    beforeAll(async () => {
      try {
        const rootfs = await options.rootfs();
        const argv = [CONFORMANCE_SCRIPT_PATH, options.backendModule, options.factory, rootfs];
        if (options.filter !== undefined) argv.push(options.filter);
        const stdout = await options.runScript(argv);
        const line = stdout.trim().split('\n').at(-1) ?? '';
        outcome = JSON.parse(line) as typeof outcome;
      } catch (error) {
        failure = error;
      }
    }, 300_000);

    const wantsAvailable = options.expect?.available ?? true;
    it(
      wantsAvailable
        ? 'probes available and claims the expected guarantees'
        : 'probes unavailable, saying why',
      () => {
        if (outcome === undefined) throw failure;
        const { probe } = outcome;
        if (!wantsAvailable) {
          expect(probe.available).toBe(false);
          if (!probe.available && options.expect?.unavailableReason) {
            expect(probe.reason).toMatch(options.expect.unavailableReason);
          }
          return;
        }
        expect(probe, probe.available ? '' : probe.reason).toMatchObject({ available: true });
        if (probe.available) {
          for (const guarantee of options.expect?.guarantees ?? [])
            expect(probe.guarantees).toContain(guarantee);
          if (options.expect?.canOverlay !== undefined) {
            expect(probe.canOverlay === true).toBe(options.expect.canOverlay);
          }
        }
      },
    );

    if (!wantsAvailable) return;
    const checks = CONFORMANCE_CHECKS.filter(
      (check) => options.filter === undefined || check.name.includes(options.filter),
    );
    for (const check of checks) {
      const title =
        check.guarantee === undefined ? check.name : `[${check.guarantee}] ${check.name}`;
      it(title, () => {
        if (outcome === undefined) throw failure;
        const result = outcome.results.find((candidate) => candidate.name === check.name);
        if (result === undefined)
          throw new Error('the script did not run this check (the backend probed unavailable)');
        expect(result.error, result.error).toBeUndefined();
        expect(result.status).toBe('passed');
      });
    }
  });
}
