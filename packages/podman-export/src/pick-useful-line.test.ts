import { describe, expect, it } from 'vitest';
import { pickUsefulLine } from './pick-useful-line.ts';

describe('pickUsefulLine', () => {
  it("prefers podman's last Error: line, without the prefix", () => {
    const stderr =
      'Trying to pull 127.0.0.1:1/x:latest...\nError: initializing source docker://127.0.0.1:1/x:latest: pinging container registry 127.0.0.1:1: connection refused\n';
    expect(pickUsefulLine(stderr)).toBe(
      'initializing source docker://127.0.0.1:1/x:latest: pinging container registry 127.0.0.1:1: connection refused',
    );
  });

  it("prefers tar's first complaint over its summary", () => {
    expect(
      pickUsefulLine(
        'tar: big: Wrote only 4608 of 10240 bytes\ntar: Exiting with failure status due to previous errors\n',
      ),
    ).toBe('tar: big: Wrote only 4608 of 10240 bytes');
  });

  it('falls back to the last line, trims long lines, and is undefined for nothing', () => {
    expect(pickUsefulLine('one\ntwo\n')).toBe('two');
    expect(pickUsefulLine('x'.repeat(400))?.length).toBe(301);
    expect(pickUsefulLine('\n  \n')).toBeUndefined();
  });
});
