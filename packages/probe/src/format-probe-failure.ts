import type { UnavailableProbe } from './backend.ts';

/**
 * One short clause saying why a backend cannot run here, for verbose output and for the
 * "no backend" message: `bwrap not found (apt install bubblewrap)` when a tool is missing,
 * else the probe's reason, prefixed with the backend name unless it already starts with it.
 */
export function formatProbeFailure(backendName: string, probe: UnavailableProbe): string {
  if (probe.missing !== undefined) {
    return `${probe.missing.tool} not found (apt install ${probe.missing.debianPackage})`;
  }
  const reason = probe.reason.trim();
  return reason.toLowerCase().startsWith(backendName.toLowerCase())
    ? reason
    : `${backendName}: ${reason}`;
}
