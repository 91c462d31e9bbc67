import { createExecRegistry } from '@polythene/core/internal/exec/backend-selection';
import {
  type BackendDescription,
  createProbeCache,
  createProbeContext,
  describeBackends,
} from '@polythene/probe';
import { cliBackends } from '../../engine.ts';
import { type RawOptions, stringList } from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';
import { formatTable } from '../list/list-command.ts';
import { describeLimits, formatLimitsLine } from './describe-limits.ts';

/** `polythene backends`: every registered backend, available here or why not, and its guarantees. */
export async function backendsCommand(options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const registry = await createExecRegistry({
    ...cliBackends(),
    backendModules: stringList(options.backendModule, '--backend-module'),
    hostEnv: process.env,
    cwd: process.cwd(),
  });
  // A fresh probe of each refreshes the cache later execs use.
  const descriptions = await describeBackends(registry, createProbeContext(process.env), {
    cache: createProbeCache({ log: (line) => context.logger.verbose(line) }),
  });
  // Limits are the host's, the same whichever backend runs: each available one says them.
  const limits = describeLimits();
  if (context.isJson) {
    printJson(
      descriptions.map((backend) => (backend.available ? { ...backend, ...limits } : backend)),
    );
    return 0;
  }
  const rows = descriptions.map((backend) => [
    backend.name,
    backend.available ? 'yes' : 'no',
    backend.version ?? '-',
    backend.available ? backend.guarantees.join(',') || '-' : (backend.reason ?? ''),
    backend.lost.map((lost) => lost.guarantee).join(',') || '-',
    backend.networkModes.join(','),
  ]);
  process.stdout.write(
    formatTable(
      ['BACKEND', 'AVAILABLE', 'VERSION', 'ENFORCES (or why not)', 'LOST', 'NETWORK'],
      rows,
    ) +
      formatLimitsLine(limits) +
      formatLostNetworkLines(descriptions),
  );
  return 0;
}

// One line per mode this host cannot give (the reason is the host's, the same for each backend).
function formatLostNetworkLines(descriptions: readonly BackendDescription[]): string {
  const reasons = new Map<string, string>();
  for (const backend of descriptions) {
    for (const lost of backend.networkModesLost) reasons.set(lost.mode, lost.reason);
  }
  return [...reasons].map(([mode, reason]) => `network ${mode}: not here: ${reason}\n`).join('');
}
