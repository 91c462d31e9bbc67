import { describe, expect, it } from 'vitest';
import { decodeExitCode, getSignalNumber } from './decode-exit-code.ts';

describe('decodeExitCode', () => {
  it('keeps ordinary exit statuses', () => {
    expect(decodeExitCode(0)).toEqual({ exitCode: 0, signal: null });
    expect(decodeExitCode(42)).toEqual({ exitCode: 42, signal: null });
    expect(decodeExitCode(128)).toEqual({ exitCode: 128, signal: null });
  });

  it('reads 128+n as death by signal n', () => {
    expect(decodeExitCode(143)).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(decodeExitCode(137)).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(decodeExitCode(130)).toEqual({ exitCode: null, signal: 'SIGINT' });
  });

  it('keeps statuses above 128 that name no signal', () => {
    expect(decodeExitCode(255)).toEqual({ exitCode: 255, signal: null });
  });

  it('maps names to numbers', () => {
    expect(getSignalNumber('SIGTERM')).toBe(15);
  });
});
