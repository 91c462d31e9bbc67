import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readUserNamespaceKnobs } from '@polythene/probe';
import { judgeAppArmorProfile, profileNameFor } from './apparmor-profile.ts';
import type { DoctorCheck, HostPaths } from './doctor-types.ts';

/** Inputs of {@link checkUserNamespaces}. */
export interface UserNamespaceInputs {
  readonly paths: HostPaths;
  readonly isRoot: boolean;
  /** The binaries that create the box's user namespaces (bwrap's resolved path). */
  readonly namespaceBinaries: readonly string[];
  /** Whether this process could create a user namespace just now (a real trial). */
  readonly canCreate: boolean;
  /** What the trial printed when it failed. */
  readonly trialError?: string;
}

const group = 'user namespaces' as const;

/**
 * The kernel's user-namespace knobs, AppArmor's restriction and its profiles, and a real
 * trial. Unprivileged backends (bwrap as a user) need all of them to allow namespaces.
 */
export function checkUserNamespaces(inputs: UserNamespaceInputs): DoctorCheck[] {
  const { paths, isRoot } = inputs;
  // Root creates namespaces with its own capabilities: these knobs bind only other users
  // (max_user_namespaces excepted).
  const blocking = isRoot ? 'warn' : 'fail';
  const checks: DoctorCheck[] = [];
  const knobs = readUserNamespaceKnobs(paths.procSys);

  const max = knobs.maxUserNamespaces;
  checks.push(
    max === undefined
      ? {
          id: 'userns.max',
          group,
          title: 'user.max_user_namespaces',
          state: 'info',
          detail: 'absent',
        }
      : Number(max) > 0
        ? { id: 'userns.max', group, title: 'user.max_user_namespaces', state: 'ok', detail: max }
        : {
            id: 'userns.max',
            group,
            title: 'user.max_user_namespaces',
            state: 'fail',
            detail: `${max}: no user namespaces can be created`,
            fix: {
              summary: 'allow user namespaces',
              commands: [
                'sudo sysctl -w user.max_user_namespaces=15000',
                "echo 'user.max_user_namespaces=15000' | sudo tee /etc/sysctl.d/90-polythene-userns.conf",
              ],
            },
          },
  );

  const clone = knobs.unprivilegedUsernsClone;
  checks.push(
    clone === undefined
      ? {
          id: 'userns.unprivileged_clone',
          group,
          title: 'kernel.unprivileged_userns_clone',
          state: 'info',
          detail: 'absent (this kernel does not have the Debian knob)',
        }
      : clone === '1'
        ? {
            id: 'userns.unprivileged_clone',
            group,
            title: 'kernel.unprivileged_userns_clone',
            state: 'ok',
            detail: '1',
          }
        : {
            id: 'userns.unprivileged_clone',
            group,
            title: 'kernel.unprivileged_userns_clone',
            state: blocking,
            detail: `${clone}: unprivileged users cannot create user namespaces`,
            fix: {
              summary: 'allow unprivileged user namespaces',
              commands: [
                'sudo sysctl -w kernel.unprivileged_userns_clone=1',
                "echo 'kernel.unprivileged_userns_clone=1' | sudo tee /etc/sysctl.d/90-polythene-userns.conf",
              ],
            },
          },
  );

  checks.push(...checkAppArmor(inputs, knobs.apparmorRestrictUnprivilegedUserns, blocking));

  checks.push(
    inputs.canCreate
      ? {
          id: 'userns.trial',
          group,
          title: 'create a user namespace',
          state: 'ok',
          detail: 'works',
        }
      : {
          id: 'userns.trial',
          group,
          title: 'create a user namespace',
          state: blocking,
          detail: `refused${inputs.trialError ? `: ${inputs.trialError}` : ''}`,
        },
  );
  return checks;
}

function checkAppArmor(
  inputs: UserNamespaceInputs,
  restrict: string | undefined,
  blocking: 'warn' | 'fail',
): DoctorCheck[] {
  const title = 'kernel.apparmor_restrict_unprivileged_userns';
  if (restrict === undefined) {
    return [
      {
        id: 'apparmor.restrict',
        group,
        title,
        state: 'info',
        detail: 'absent (no AppArmor user-namespace restriction)',
      },
    ];
  }
  if (restrict !== '1') {
    return [{ id: 'apparmor.restrict', group, title, state: 'ok', detail: restrict }];
  }
  const checks: DoctorCheck[] = [
    {
      id: 'apparmor.restrict',
      group,
      title,
      state: 'info',
      detail: '1: user namespaces need an AppArmor profile',
    },
  ];
  const profiles = readProfiles(join(inputs.paths.etc, 'apparmor.d'));
  for (const binary of inputs.namespaceBinaries) {
    const verdicts = profiles.map(({ file, text }) => ({
      file,
      verdict: judgeAppArmorProfile(text, binary),
    }));
    const allowing = verdicts.find((entry) => entry.verdict === 'allows-userns');
    const confining = verdicts.find((entry) => entry.verdict === 'confining');
    const profileName = profileNameFor(binary);
    const fix = {
      summary: `install an AppArmor profile that lets ${binary} create user namespaces (or set the sysctl to 0)`,
      commands: [
        `polythene doctor --fix   # writes /etc/apparmor.d/${profileName} and loads it with apparmor_parser -r`,
        `# or, host-wide: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`,
      ],
      automatic: { kind: 'apparmor-profile', binary, profileName } as const,
    };
    checks.push(
      allowing !== undefined
        ? {
            id: `apparmor.profile.${profileName}`,
            group,
            title: `AppArmor profile for ${binary}`,
            state: 'ok',
            detail: `${allowing.file} allows userns, unconfined`,
          }
        : {
            id: `apparmor.profile.${profileName}`,
            group,
            title: `AppArmor profile for ${binary}`,
            state: blocking,
            detail:
              confining !== undefined
                ? `${confining.file} allows userns but confines ${binary}: its children lose their capabilities, which breaks root in the box`
                : `none: ${binary} cannot create user namespaces`,
            fix,
          },
    );
  }
  return checks;
}

function readProfiles(directory: string): { file: string; text: string }[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  const profiles: { file: string; text: string }[] = [];
  for (const name of names) {
    try {
      profiles.push({
        file: join(directory, name),
        text: readFileSync(join(directory, name), 'utf8'),
      });
    } catch {
      // A directory (abstractions/, local/) or an unreadable file: not a profile we can judge.
    }
  }
  return profiles;
}
