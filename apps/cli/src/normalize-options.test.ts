import { describe, expect, it } from 'vitest';
import {
  byteCount,
  lastString,
  oneOf,
  optionalPath,
  stringList,
  timeoutMsFromFlagOrEnv,
  timeoutMsFromSeconds,
} from './normalize-options.ts';

describe('option normalisation', () => {
  it('takes the last of a repeated scalar and stringifies numbers', () => {
    expect(lastString(['a', 'b'], '--store')).toBe('b');
    expect(lastString(1000, '--user')).toBe('1000');
    expect(lastString(undefined, '--user')).toBeUndefined();
    expect(() => lastString(true, '--store')).toThrow('--store needs a value');
  });

  it('keeps every value of a repeatable flag', () => {
    expect(stringList(['A=1', 'B=2'], '--env')).toEqual(['A=1', 'B=2']);
    expect(stringList('A=1', '--env')).toEqual(['A=1']);
    expect(stringList(undefined, '--env')).toEqual([]);
  });

  it('reads timeouts in seconds and refuses nonsense', () => {
    expect(timeoutMsFromSeconds('1.5')).toBe(1500);
    expect(timeoutMsFromSeconds(2)).toBe(2000);
    for (const bad of ['0', '-1', 'soon', '1e3']) {
      expect(() => timeoutMsFromSeconds(bad)).toThrow(
        expect.objectContaining({ code: 'POLYTHENE_USAGE' }),
      );
    }
  });

  it('takes POLYTHENE_TIMEOUT when --timeout is absent; the flag wins', () => {
    expect(timeoutMsFromFlagOrEnv(undefined, { POLYTHENE_TIMEOUT: '2' })).toBe(2000);
    expect(timeoutMsFromFlagOrEnv(5, { POLYTHENE_TIMEOUT: '2' })).toBe(5000);
    expect(timeoutMsFromFlagOrEnv(undefined, { POLYTHENE_TIMEOUT: '' })).toBeUndefined();
    expect(timeoutMsFromFlagOrEnv(undefined, {})).toBeUndefined();
    expect(() => timeoutMsFromFlagOrEnv(undefined, { POLYTHENE_TIMEOUT: 'x' })).toThrow(
      'POLYTHENE_TIMEOUT x: expected a positive number of seconds',
    );
  });

  it('reads byte counts with binary suffixes', () => {
    expect(byteCount('16M', '--max-output')).toBe(16 * 1024 * 1024);
    expect(byteCount('64k', '--max-output')).toBe(65536);
    expect(() => byteCount('lots', '--max-output')).toThrow('--max-output lots');
  });

  it('reads an optional path and a closed choice', () => {
    expect(optionalPath(true)).toBe(true);
    expect(optionalPath('proj')).toBe('proj');
    expect(optionalPath(undefined)).toBeUndefined();
    expect(oneOf('never', '--pull', ['always', 'missing', 'never'])).toBe('never');
    expect(() => oneOf('sometimes', '--pull', ['always', 'missing', 'never'])).toThrow(
      '--pull sometimes: expected one of always, missing, never',
    );
  });
});
