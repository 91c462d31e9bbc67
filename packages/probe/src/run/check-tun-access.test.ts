import { describe, expect, it } from 'vitest';
import { checkTunAccess, describeTunProblem } from './check-tun-access.ts';

describe('checkTunAccess', () => {
  it('names a missing device and how to get one', () => {
    expect(checkTunAccess('/nonexistent/polythene-tun')).toBe(
      '/nonexistent/polythene-tun does not exist: as root, load the tun module (modprobe tun); or use --network host',
    );
  });

  it('accepts a device this user may open', () => {
    expect(checkTunAccess('/dev/null')).toBeUndefined();
  });

  it('says a 0600 device must be 0666 for an unprivileged private network', () => {
    const message = describeTunProblem('/dev/net/tun', 'EACCES', 0o20600);
    expect(message).toMatch(
      /^\/dev\/net\/tun \(mode 0600\) cannot be opened by this user \(EACCES\)/,
    );
    expect(message).toContain('chmod 0666 /dev/net/tun');
    expect(message).not.toContain('\n');
  });
});
