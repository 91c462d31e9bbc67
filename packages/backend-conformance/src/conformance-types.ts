import type { AvailableProbe, Backend, Guarantee, RunResult } from '@polythene/probe';

/** What every conformance check gets: the backend, its probe here, and a rootfs to run in. */
export interface ConformanceContext {
  /** The backend under test. */
  readonly backend: Backend;
  /** Its (available) probe result on this host. */
  readonly probe: AvailableProbe;
  /** Host path of a busybox root filesystem (static busybox, applets in /bin, /tmp 1777). */
  readonly rootfs: string;
}

/** One behaviour every backend must show, checked from inside the sandbox where possible. */
export interface ConformanceCheck {
  /** What a user relies on, as a sentence. */
  readonly name: string;
  /**
   * Checked in full when the backend claims this guarantee on this host; when it does not, the
   * check verifies instead that the probe reports the guarantee lost, with a reason (never a
   * silent downgrade).
   */
  readonly guarantee?: Guarantee;
  /**
   * Why the check does not apply to this backend here (e.g. it offers no overlay roots), or
   * undefined when it does; `verifyNotApplicable` then checks that the backend is honest
   * about it instead.
   */
  readonly notApplicableReason?: (context: ConformanceContext) => string | undefined;
  /** What must hold when the check does not apply (e.g. an overlay spec is refused). */
  readonly verifyNotApplicable?: (context: ConformanceContext) => Promise<void>;
  /** Throws (an assertion error) when the backend does not behave. */
  readonly run: (context: ConformanceContext) => Promise<void>;
}

/** A run's captured output as text. */
export interface TextRunResult extends RunResult {
  /** Captured stdout, decoded as UTF-8. */
  readonly out: string;
  /** Captured stderr, decoded as UTF-8. */
  readonly err: string;
}

/** A check's outcome outside vitest (see {@link runConformanceChecks}). */
export interface ConformanceCheckResult {
  /** The check's name. */
  readonly name: string;
  /** `passed` or `failed`. */
  readonly status: 'passed' | 'failed';
  /** The failure message. */
  readonly error?: string;
  /**
   * Set when the check did not apply and its honesty check ran instead: why (the guarantee's
   * lost reason, or {@link ConformanceCheck.notApplicableReason}).
   */
  readonly notApplicable?: string;
}
