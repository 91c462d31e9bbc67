import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRefusal } from './probe-bwrap.ts';

function procSysWith(knobs: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'proc-sys-'));
  for (const [path, value] of Object.entries(knobs)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), `${value}\n`);
  }
  return root;
}

describe('describeRefusal', () => {
  it("names AppArmor's restriction and doctor --fix for Ubuntu 24.04's two bwrap errors", () => {
    const ubuntu = procSysWith({
      'user/max_user_namespaces': '63000',
      'kernel/apparmor_restrict_unprivileged_userns': '1',
    });
    for (const stderr of [
      'bwrap: setting up uid map: Permission denied\n',
      'bwrap: loopback: Failed RTM_NEWADDR: Operation not permitted\n',
    ]) {
      const reason = describeRefusal(stderr, false, ubuntu);
      expect(reason).toContain(
        'AppArmor restricts them here (kernel.apparmor_restrict_unprivileged_userns=1)',
      );
      expect(reason).toContain(stderr.trim());
      expect(reason).toMatch(/run `polythene doctor --fix`/);
    }
  });

  it('names the sysctl that refuses, and stays generic where none does', () => {
    const refusing = procSysWith({ 'user/max_user_namespaces': '0' });
    expect(describeRefusal('bwrap: No space left on device', false, refusing)).toMatch(
      /^bwrap cannot create a user namespace: the host sets user.max_user_namespaces=0/,
    );
    const open = procSysWith({ 'user/max_user_namespaces': '63000' });
    expect(describeRefusal('bwrap: Creating new namespace failed: x', false, open)).toMatch(
      /^bwrap cannot create a user namespace here/,
    );
    // Root is not bound by these knobs.
    expect(describeRefusal('bwrap: x', true, refusing)).toMatch(/^bwrap cannot set up a sandbox/);
  });
});
