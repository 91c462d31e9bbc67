import { describe, expect, it } from 'vitest';
import { describeBwrapError } from './describe-bwrap-error.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('describeBwrapError', () => {
  it("drops bwrap's own prefix: the message around it already names bwrap", () => {
    expect(describeBwrapError(bytes("bwrap: Can't mkdir /etc/passwd: Not a directory\n"))).toBe(
      "Can't mkdir /etc/passwd: Not a directory",
    );
  });

  it("gives the mount helper's line, not mount's dmesg hint", () => {
    expect(
      describeBwrapError(
        bytes(
          'mount: /x: wrong fs type, bad option.\n       dmesg(1) may have more information after failed mount system call.\n',
        ),
      ),
    ).toBe('mount: /x: wrong fs type, bad option.');
  });

  it('says where to look when stderr went to the terminal, and when there was none', () => {
    expect(describeBwrapError(undefined)).toBe("see bwrap's message above");
    expect(describeBwrapError(bytes('\n'))).toBe('bwrap exited before starting the command');
  });
});
