import { spawnSync } from 'node:child_process';
import { buildAppArmorProfile } from './apparmor-profile.ts';
import type { AutomaticFix, DoctorCheck } from './doctor-types.ts';

/** Runs one command of a fix: the real one spawns it; tests pass their own. */
export type FixCommandRunner = (
  argv: readonly string[],
  input?: string,
) => { readonly ok: boolean; readonly error: string };

/** What `--fix` did about one automatic fix. */
export interface AppliedFix {
  readonly fix: AutomaticFix;
  /** True when every command succeeded. */
  readonly applied: boolean;
  /** The commands, as run (or to run by hand when `applied` is false). */
  readonly commands: readonly string[];
  /** Why it was not applied. */
  readonly error?: string;
}

/** Options for {@link applyDoctorFixes}. */
export interface ApplyDoctorFixesOptions {
  /** True when running as root: commands run directly, else through `sudo -n`. */
  readonly isRoot: boolean;
  /** Says each step before it runs (stderr in the CLI). */
  readonly say: (line: string) => void;
  readonly run?: FixCommandRunner;
  /** Where AppArmor profiles go (`/etc/apparmor.d`). */
  readonly apparmorDir?: string;
}

const spawnFixCommand: FixCommandRunner = (argv, input) => {
  const [command, ...args] = argv;
  const result = spawnSync(command ?? 'false', args, {
    encoding: 'utf8',
    input: input ?? '',
    timeout: 60_000,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const error = (result.stderr ?? '').trim().split('\n').pop() ?? result.error?.message ?? '';
  return { ok: result.status === 0, error };
};

// The steps of one fix: argv, and what goes to its stdin.
function stepsFor(fix: AutomaticFix, apparmorDir: string): { argv: string[]; input?: string }[] {
  if (fix.kind === 'apparmor-profile') {
    const file = `${apparmorDir}/${fix.profileName}`;
    return [
      { argv: ['tee', file], input: buildAppArmorProfile(fix.binary, fix.profileName) },
      { argv: ['apparmor_parser', '-r', file] },
    ];
  }
  const range = `${fix.first}-${fix.first + fix.count - 1}`;
  return [{ argv: ['usermod', '--add-subuids', range, '--add-subgids', range, fix.user] }];
}

function describe(fix: AutomaticFix): string {
  return fix.kind === 'apparmor-profile'
    ? `installing the AppArmor profile ${fix.profileName} (lets ${fix.binary} create user namespaces, nothing more)`
    : `adding subordinate ids ${fix.first}-${fix.first + fix.count - 1} for ${fix.user}`;
}

/**
 * Applies the narrow automatic fixes of the failed or warned checks, and nothing else: an
 * AppArmor profile for a namespace binary, a subordinate id range. Says each step first. As
 * root it runs them; otherwise through `sudo -n`, and when sudo needs a password it runs
 * nothing and returns the commands to run by hand.
 */
export function applyDoctorFixes(
  checks: readonly DoctorCheck[],
  options: ApplyDoctorFixesOptions,
): AppliedFix[] {
  const run = options.run ?? spawnFixCommand;
  const apparmorDir = options.apparmorDir ?? '/etc/apparmor.d';
  const seen = new Set<string>();
  const fixes: AutomaticFix[] = [];
  for (const check of checks) {
    const automatic = check.fix?.automatic;
    if (automatic === undefined || check.state === 'ok' || check.state === 'info') continue;
    const key = JSON.stringify(automatic);
    if (seen.has(key)) continue;
    seen.add(key);
    fixes.push(automatic);
  }
  if (fixes.length === 0) return [];
  const prefix = options.isRoot ? [] : ['sudo', '-n'];
  const canSudo = options.isRoot || run(['sudo', '-n', 'true']).ok;
  return fixes.map((fix) => {
    const steps = stepsFor(fix, apparmorDir).map((step) => ({
      ...step,
      argv: [...prefix, ...step.argv],
    }));
    const commands = steps.map((step) =>
      step.input === undefined
        ? step.argv.join(' ')
        : `${step.argv.join(' ')} <<'EOF'\n${step.input}EOF`,
    );
    if (!canSudo) {
      return {
        fix,
        applied: false,
        commands,
        error: 'sudo needs a password here: run these yourself',
      };
    }
    options.say(describe(fix));
    for (const step of steps) {
      options.say(`  $ ${step.argv.join(' ')}`);
      const result = run(step.argv, step.input);
      if (!result.ok) return { fix, applied: false, commands, error: result.error };
    }
    return { fix, applied: true, commands };
  });
}
