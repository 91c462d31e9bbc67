import { describe, expect, it } from 'vitest';
import { describeSetupError } from './describe-setup-error.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('describeSetupError', () => {
  it("gives the failed mount's own line, not mount's dmesg hint after it", () => {
    expect(
      describeSetupError(
        bytes(
          'mount: /r/etc/passwd: mount point is not a directory.\n       dmesg(1) may have more information after failed mount system call.\n',
        ),
      ),
    ).toBe('mount: /r/etc/passwd: mount point is not a directory.');
  });

  it('says where to look when stderr went to the terminal, and when there was none', () => {
    expect(describeSetupError(undefined)).toBe('see the message above');
    expect(describeSetupError(bytes(''))).toBe(
      'the set-up script exited before starting the command',
    );
  });
});
