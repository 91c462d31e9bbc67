import { describe, expect, it } from 'vitest';
import { applyDoctorFixes, type FixCommandRunner } from './apply-doctor-fixes.ts';
import type { DoctorCheck } from './doctor-types.ts';

const PROFILE_CHECK: DoctorCheck = {
  id: 'apparmor.profile.polythene-bwrap',
  group: 'user namespaces',
  title: 'AppArmor profile for /usr/bin/bwrap',
  state: 'fail',
  detail: 'none',
  fix: {
    summary: 'install',
    commands: [],
    automatic: {
      kind: 'apparmor-profile',
      binary: '/usr/bin/bwrap',
      profileName: 'polythene-bwrap',
    },
  },
};
const RANGE_FIX = {
  summary: 'range',
  commands: [],
  automatic: { kind: 'subordinate-ids', user: 'bob', first: 196608, count: 65536 },
} as const;
const RANGE_CHECKS: DoctorCheck[] = [
  {
    id: 'ids.subuid',
    group: 'subordinate ids',
    title: '/etc/subuid',
    state: 'warn',
    detail: '',
    fix: RANGE_FIX,
  },
  {
    id: 'ids.subgid',
    group: 'subordinate ids',
    title: '/etc/subgid',
    state: 'warn',
    detail: '',
    fix: RANGE_FIX,
  },
];

function recordingRunner(sudoWorks: boolean) {
  const calls: { argv: readonly string[]; input?: string }[] = [];
  const run: FixCommandRunner = (argv, input) => {
    calls.push({ argv, ...(input === undefined ? {} : { input }) });
    return { ok: argv.join(' ') !== 'sudo -n true' || sudoWorks, error: 'a password is required' };
  };
  return { calls, run };
}

describe('applyDoctorFixes', () => {
  it('as root, writes and loads the profile and adds one range for subuid and subgid alike', () => {
    const { calls, run } = recordingRunner(true);
    const said: string[] = [];
    const fixes = applyDoctorFixes([PROFILE_CHECK, ...RANGE_CHECKS], {
      isRoot: true,
      run,
      say: (line) => said.push(line),
    });
    expect(fixes.map((fix) => fix.applied)).toEqual([true, true]);
    expect(calls.map((call) => call.argv.join(' '))).toEqual([
      'tee /etc/apparmor.d/polythene-bwrap',
      'apparmor_parser -r /etc/apparmor.d/polythene-bwrap',
      'usermod --add-subuids 196608-262143 --add-subgids 196608-262143 bob',
    ]);
    expect(calls[0]?.input).toContain(
      'profile polythene-bwrap /usr/bin/bwrap flags=(unconfined) {',
    );
    // Every step is said before it runs.
    expect(said.filter((line) => line.startsWith('  $ '))).toHaveLength(3);
  });

  it('goes through sudo -n for a user, and runs nothing when sudo wants a password', () => {
    const withSudo = recordingRunner(true);
    applyDoctorFixes(RANGE_CHECKS, { isRoot: false, run: withSudo.run, say: () => {} });
    expect(withSudo.calls.map((call) => call.argv[0])).toEqual(['sudo', 'sudo']);
    const without = recordingRunner(false);
    const fixes = applyDoctorFixes(RANGE_CHECKS, {
      isRoot: false,
      run: without.run,
      say: () => {},
    });
    expect(without.calls).toHaveLength(1);
    expect(fixes[0]).toMatchObject({ applied: false, error: /password/ });
    expect(fixes[0]?.commands).toEqual([
      'sudo -n usermod --add-subuids 196608-262143 --add-subgids 196608-262143 bob',
    ]);
  });

  it('touches nothing for checks that passed', () => {
    const { calls, run } = recordingRunner(true);
    expect(
      applyDoctorFixes([{ ...PROFILE_CHECK, state: 'ok' }], { isRoot: true, run, say: () => {} }),
    ).toEqual([]);
    expect(calls).toEqual([]);
  });
});
