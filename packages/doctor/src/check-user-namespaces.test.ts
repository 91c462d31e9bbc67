import { describe, expect, it } from 'vitest';
import { buildAppArmorProfile, judgeAppArmorProfile } from './apparmor-profile.ts';
import { checkUserNamespaces } from './check-user-namespaces.ts';
import { prepareHost } from './prepared-host.test-helper.ts';

const BWRAP = '/usr/bin/bwrap';

// The shape of Ubuntu's own bwrap-userns-restrict: attached to bwrap, allows userns, but
// confines it (and, through a child profile, strips capabilities from what bwrap runs).
const CONFINING_PROFILE = `abi <abi/4.0>,
include <tunables/global>
profile bwrap /usr/bin/bwrap flags=(attach_disconnected,mediate_deleted) {
  allow capability,
  userns,
  change_profile -> unpriv_bwrap,
}
`;

function byId(checks: ReturnType<typeof checkUserNamespaces>, id: string) {
  const check = checks.find((entry) => entry.id === id);
  if (check === undefined)
    throw new Error(`no check ${id} in ${checks.map((entry) => entry.id).join(', ')}`);
  return check;
}

describe('the AppArmor profile doctor --fix installs', () => {
  it('has the form Ubuntu documents for programs that need user namespaces', () => {
    const text = buildAppArmorProfile(BWRAP, 'polythene-bwrap');
    const lines = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(lines).toEqual([
      'abi <abi/4.0>,',
      'include <tunables/global>',
      'profile polythene-bwrap /usr/bin/bwrap flags=(unconfined) {',
      '  userns,',
      '  include if exists <local/polythene-bwrap>',
      '}',
    ]);
    expect(judgeAppArmorProfile(text, BWRAP)).toBe('allows-userns');
  });

  it('tells a confining profile and an unrelated one from a fitting one', () => {
    expect(judgeAppArmorProfile(CONFINING_PROFILE, BWRAP)).toBe('confining');
    expect(judgeAppArmorProfile(buildAppArmorProfile('/usr/bin/other', 'x'), BWRAP)).toBe(
      'unrelated',
    );
    expect(judgeAppArmorProfile('profile b /usr/bin/bwrap flags=(unconfined) {\n}\n', BWRAP)).toBe(
      'unrelated',
    );
  });
});

describe('checkUserNamespaces on prepared hosts', () => {
  const base = { isRoot: false, namespaceBinaries: [BWRAP], canCreate: true };

  it('passes a host without restrictions, naming absent knobs as absent', () => {
    const paths = prepareHost({ 'proc/sys/user/max_user_namespaces': '63000\n' });
    const checks = checkUserNamespaces({ ...base, paths });
    expect(byId(checks, 'userns.max').state).toBe('ok');
    expect(byId(checks, 'userns.unprivileged_clone')).toMatchObject({
      state: 'info',
      detail: /absent/,
    });
    expect(byId(checks, 'apparmor.restrict')).toMatchObject({ state: 'info', detail: /absent/ });
    expect(checks.some((check) => check.state === 'fail')).toBe(false);
  });

  it('fails Ubuntu 24.04 without a profile, with the profile as the automatic fix', () => {
    const paths = prepareHost({
      'proc/sys/user/max_user_namespaces': '63000',
      'proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1',
    });
    const check = byId(checkUserNamespaces({ ...base, paths }), 'apparmor.profile.polythene-bwrap');
    expect(check.state).toBe('fail');
    expect(check.fix?.automatic).toEqual({
      kind: 'apparmor-profile',
      binary: BWRAP,
      profileName: 'polythene-bwrap',
    });
    expect(check.fix?.commands.join('\n')).toContain(
      'kernel.apparmor_restrict_unprivileged_userns=0',
    );
  });

  it('accepts an unconfined userns profile and refuses a confining one', () => {
    const restricted = { 'proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1' };
    const good = prepareHost({
      ...restricted,
      'etc/apparmor.d/polythene-bwrap': buildAppArmorProfile(BWRAP, 'polythene-bwrap'),
    });
    expect(
      byId(checkUserNamespaces({ ...base, paths: good }), 'apparmor.profile.polythene-bwrap').state,
    ).toBe('ok');
    const confining = prepareHost({
      ...restricted,
      'etc/apparmor.d/bwrap-userns-restrict': CONFINING_PROFILE,
    });
    const check = byId(
      checkUserNamespaces({ ...base, paths: confining }),
      'apparmor.profile.polythene-bwrap',
    );
    expect(check).toMatchObject({ state: 'fail', detail: /confines.*lose their capabilities/ });
  });

  it('fails max_user_namespaces=0 and Debian unprivileged_userns_clone=0, each with its sysctl', () => {
    const paths = prepareHost({
      'proc/sys/user/max_user_namespaces': '0',
      'proc/sys/kernel/unprivileged_userns_clone': '0',
    });
    const checks = checkUserNamespaces({
      ...base,
      paths,
      canCreate: false,
      trialError: 'unshare: Operation not permitted',
    });
    expect(byId(checks, 'userns.max').fix?.commands[0]).toBe(
      'sudo sysctl -w user.max_user_namespaces=15000',
    );
    expect(byId(checks, 'userns.unprivileged_clone').fix?.commands[0]).toBe(
      'sudo sysctl -w kernel.unprivileged_userns_clone=1',
    );
    expect(byId(checks, 'userns.trial')).toMatchObject({
      state: 'fail',
      detail: /Operation not permitted/,
    });
  });

  it('only warns root about knobs that bind other users', () => {
    const paths = prepareHost({
      'proc/sys/user/max_user_namespaces': '100',
      'proc/sys/kernel/unprivileged_userns_clone': '0',
      'proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1',
    });
    const checks = checkUserNamespaces({ ...base, isRoot: true, paths });
    expect(byId(checks, 'userns.unprivileged_clone').state).toBe('warn');
    expect(byId(checks, 'apparmor.profile.polythene-bwrap').state).toBe('warn');
  });
});
