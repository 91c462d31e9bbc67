import type { ExecResult } from '@polythene/core/internal/exec/exec-options';
import {
  formatMemorySize,
  parseCpus,
  parseMemorySize,
  parsePidsLimit,
} from '@polythene/core/internal/exec/parse-limits';
import type { LimitOptions } from '@polythene/core/internal/exec/run-limits';
import { writeToStderr } from '@polythene/core/internal/logger';
import { PolytheneError } from '@polythene/errors';
import { lastString, type RawOptions } from '../../normalize-options.ts';

/** `--memory`, `--cpus`, `--pids-limit` as the API takes them (the API validates them). */
export function limitFlags(options: RawOptions): LimitOptions {
  const memory = limitValue(options.memory, '--memory', '512m');
  const cpus = limitValue(options.cpus, '--cpus', '0.5');
  const pidsLimit = limitValue(options.pidsLimit, '--pids-limit', '64');
  return {
    ...(memory !== undefined ? { memory } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    ...(pidsLimit !== undefined ? { pidsLimit } : {}),
  };
}

// A flag given without a value (`--memory -5` reads `-5` as flags) names the form it needs.
function limitValue(value: unknown, flag: string, example: string): string | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value;
  if (last === undefined) return undefined;
  if (typeof last === 'boolean' || last === '') {
    throw new PolytheneError('POLYTHENE_USAGE', `${flag} needs a value, e.g. ${flag} ${example}`);
  }
  return lastString(value, flag);
}

/** The limit fields of `exec --json`: how limits held, which one was hit, what was used. */
export function limitsJson(result: ExecResult): Record<string, unknown> {
  return {
    limits: result.limits,
    ...(result.limit !== undefined ? { limit: result.limit } : {}),
    ...(result.memoryPeakBytes !== undefined ? { memoryPeakBytes: result.memoryPeakBytes } : {}),
    ...(result.cpuTimeMs !== undefined ? { cpuTimeMs: result.cpuTimeMs } : {}),
  };
}

/** One stderr line when a limit ended the run (memory) or a fork failed against it (pids). */
export function reportLimitHit(result: ExecResult): void {
  if (result.limit === 'memory' && result.memoryLimitBytes !== undefined) {
    writeToStderr(
      `polythene: killed: memory limit ${formatMemorySize(result.memoryLimitBytes)} reached\n`,
    );
  } else if (result.limit === 'pids' && result.pidsLimit !== undefined) {
    writeToStderr(
      `polythene: pids limit ${result.pidsLimit} reached: a fork in the command failed\n`,
    );
  }
}

const limitParsers: Readonly<Record<string, (value: string) => unknown>> = {
  '--memory': (value) => parseMemorySize(value),
  '--cpus': (value) => parseCpus(value),
  '--pids-limit': (value) => parsePidsLimit(value),
};

/**
 * `--memory -5` reads to cac as `--memory` and an unknown option `-5`: say instead what the
 * limit flag takes. Looks at exec's words before `--` only.
 */
export function assertDashedLimitValues(argv: readonly string[]): void {
  const dashes = argv.indexOf('--');
  const words = dashes === -1 ? argv : argv.slice(0, dashes);
  for (let index = 0; index + 1 < words.length; index += 1) {
    const parse = limitParsers[words[index] ?? ''];
    const next = words[index + 1] ?? '';
    if (parse !== undefined && next.startsWith('-') && next !== '--') parse(next);
  }
}
