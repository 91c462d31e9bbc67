import { createExecRegistry } from '@polythene/core/internal/exec/backend-selection';
import {
  type AppliedFix,
  applyDoctorFixes,
  type DoctorCheck,
  type DoctorReport,
  runDoctor,
} from '@polythene/doctor';
import { createPodmanEnv } from '@polythene/podman-export';
import { createProbeCache, createProbeContext, describeBackends } from '@polythene/probe';
import { resolveStoreDir } from '@polythene/store';
import { cliBackends } from '../../engine.ts';
import { EXIT_CODES } from '../../exit-codes.ts';
import { lastBoolean, type RawOptions, stringList } from '../../normalize-options.ts';
import { type CommandContext, printJson, readCommandContext } from '../command-context.ts';

const STATE_LABELS: Record<DoctorCheck['state'], string> = {
  ok: 'ok  ',
  info: '    ',
  warn: 'warn',
  fail: 'FAIL',
};

async function examine(options: RawOptions, context: CommandContext): Promise<DoctorReport> {
  const registry = await createExecRegistry({
    ...cliBackends(),
    backendModules: stringList(options.backendModule, '--backend-module'),
    hostEnv: process.env,
    cwd: process.cwd(),
  });
  // Fresh probes, so the answer is about this host now; they refresh the cache execs use.
  const backends = await describeBackends(registry, createProbeContext(process.env), {
    cache: createProbeCache({ log: (line) => context.logger.verbose(line) }),
  });
  return runDoctor({
    backends,
    storeDir: resolveStoreDir({ flag: context.store, env: process.env }),
    hostEnv: process.env,
    podmanEnv: createPodmanEnv(process.env),
  });
}

/** The report as a person reads it: one line per check, by group, each fix under its check. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  const shownFixes = new Set<string>();
  let group: string | undefined;
  for (const check of report.checks) {
    if (check.group !== group) {
      group = check.group;
      lines.push(`${lines.length === 0 ? '' : '\n'}${group}`);
    }
    lines.push(`  ${STATE_LABELS[check.state]}  ${check.title}: ${check.detail}`);
    if (check.fix !== undefined && (check.state === 'warn' || check.state === 'fail')) {
      // One fix often mends several checks (subuid and subgid): its commands are shown once.
      const key = JSON.stringify(check.fix.commands);
      lines.push(`          fix: ${check.fix.summary}${shownFixes.has(key) ? ' (as above)' : ''}`);
      if (!shownFixes.has(key)) {
        for (const command of check.fix.commands) lines.push(`            ${command}`);
      }
      shownFixes.add(key);
    }
  }
  lines.push(
    '',
    report.ok
      ? 'doctor: the default backend gives its isolation guarantees here'
      : 'doctor: some checks failed (FAIL above); `polythene doctor --fix` applies the automatic fixes',
  );
  return `${lines.join('\n')}\n`;
}

function reportUnapplied(fixes: readonly AppliedFix[]): void {
  for (const fix of fixes) {
    if (fix.applied) continue;
    process.stderr.write(`polythene: doctor --fix: not applied (${fix.error ?? 'failed'}); run:\n`);
    for (const command of fix.commands) process.stderr.write(`  ${command}\n`);
  }
}

/**
 * `polythene doctor [--fix] [--json]`: what decides what polythene can do here, each check
 * with its fix. Exits 0 when the default backend gives its isolation guarantees (no check
 * failed), 1 otherwise.
 */
export async function doctorCommand(options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  let report = await examine(options, context);
  let fixes: AppliedFix[] = [];
  if (lastBoolean(options.fix)) {
    fixes = applyDoctorFixes(report.checks, {
      isRoot: process.getuid?.() === 0,
      say: (line) => process.stderr.write(`polythene: doctor --fix: ${line}\n`),
    });
    reportUnapplied(fixes);
    if (fixes.some((fix) => fix.applied)) report = await examine(options, context);
  }
  if (context.isJson) {
    printJson({
      ok: report.ok,
      checks: report.checks,
      ...(lastBoolean(options.fix) ? { fixes } : {}),
    });
  } else {
    process.stdout.write(formatDoctorReport(report));
  }
  return report.ok ? EXIT_CODES.ok : EXIT_CODES.failure;
}
