import type { ProbeContext } from './backend.ts';
import { readEffectiveUid } from './host-fingerprint.ts';

/** The probe context for this process: root when the effective uid is 0, and `env` as the host environment. */
export function createProbeContext(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProbeContext {
  return { isRoot: readEffectiveUid() === 0, hostEnv: env };
}
