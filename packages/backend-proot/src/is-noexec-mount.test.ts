import { describe, expect, it } from 'vitest';
import { isOnNoexecMount } from './is-noexec-mount.ts';

const mountinfo = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '25 22 0:23 / /dev/shm rw,nosuid,nodev,noexec,relatime shared:2 - tmpfs tmpfs rw',
  '26 22 0:24 / /home/a\\040b rw,noexec - tmpfs tmpfs rw',
  '27 22 0:25 / /tmp rw,noexec - tmpfs tmpfs rw',
  '28 27 0:26 / /tmp rw - tmpfs tmpfs rw',
].join('\n');

describe('isOnNoexecMount', () => {
  it('reads the options of the deepest mount holding the path, the one on top', () => {
    expect(isOnNoexecMount('/dev/shm/polythene-proot-dev-0/1-x', mountinfo)).toBe(true);
    expect(isOnNoexecMount('/dev/shmother', mountinfo)).toBe(false);
    expect(isOnNoexecMount('/var/cache/polythene', mountinfo)).toBe(false);
    expect(isOnNoexecMount('/home/a b/x', mountinfo)).toBe(true);
    expect(isOnNoexecMount('/tmp/x', mountinfo)).toBe(false);
  });
});
