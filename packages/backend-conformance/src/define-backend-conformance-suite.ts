import type { AvailableProbe, Backend, Guarantee } from '@polythene/probe';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CONFORMANCE_CHECKS,
  type ConformanceContext,
  findNotApplicable,
  verifyHonesty,
} from './conformance-checks.ts';

/** Options for {@link defineBackendConformanceSuite}. */
export interface BackendConformanceSuiteOptions {
  /** Creates the backend under test (once per suite). */
  readonly createBackend: () => Backend | Promise<Backend>;
  /** A busybox root filesystem to run in (static busybox with its applets, `/tmp` 1777). */
  readonly rootfs: () => Promise<string> | string;
  /** What the backend must achieve on this host. */
  readonly expect?: {
    /** Guarantees the probe must claim here; every claimed guarantee is then checked for real. */
    readonly guarantees?: readonly Guarantee[];
    /** When set, the probe's `canOverlay` must be exactly this (absent counts as false). */
    readonly canOverlay?: boolean;
  };
  /** Suite title; defaults to `backend conformance`. */
  readonly title?: string;
}

/**
 * Declares the shared backend conformance suite with vitest `describe`/`it`: exit codes,
 * signals, timeouts that kill the tree, forwarded signals, exact environment, cwd, uid/gid,
 * file writes, binds, stdin, output limits, set-up failures, and every isolation guarantee the
 * backend's probe claims on this host, checked from inside the sandbox. A backend that claims
 * a guarantee it does not enforce fails; one that is unavailable here fails the probe test.
 */
export function defineBackendConformanceSuite(options: BackendConformanceSuiteOptions): void {
  describe(options.title ?? 'backend conformance', { timeout: 120_000 }, () => {
    let context: ConformanceContext | undefined;
    const getContext = (): ConformanceContext => {
      if (context === undefined)
        throw new Error('the backend probed unavailable: see the probe test');
      return context;
    };

    beforeAll(async () => {
      const backend = await options.createBackend();
      const probe = await backend.probe({
        isRoot: process.geteuid?.() === 0,
        hostEnv: process.env,
      });
      if (probe.available) context = { backend, probe, rootfs: await options.rootfs() };
    }, 120_000);

    it('probes available and claims the expected guarantees', async () => {
      const backend = await options.createBackend();
      const probe = await backend.probe({
        isRoot: process.geteuid?.() === 0,
        hostEnv: process.env,
      });
      expect(probe, probe.available ? '' : probe.reason).toMatchObject({ available: true });
      const claimed = (probe as AvailableProbe).guarantees;
      for (const guarantee of options.expect?.guarantees ?? [])
        expect(claimed).toContain(guarantee);
      if (options.expect?.canOverlay !== undefined) {
        expect((probe as AvailableProbe).canOverlay === true).toBe(options.expect.canOverlay);
      }
    });

    for (const check of CONFORMANCE_CHECKS) {
      const title =
        check.guarantee === undefined ? check.name : `[${check.guarantee}] ${check.name}`;
      it(title, async () => {
        const current = getContext();
        // Where a check does not apply, the backend must be honest about it instead: a real
        // assertion, not a skip.
        if (findNotApplicable(check, current) !== undefined) {
          await verifyHonesty(check, current);
          return;
        }
        await check.run(current);
      });
    }
  });
}
