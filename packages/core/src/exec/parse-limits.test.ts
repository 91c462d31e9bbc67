import { describe, expect, it } from 'vitest';
import { formatMemorySize, parseCpus, parseMemorySize, parsePidsLimit } from './parse-limits.ts';

describe('parseMemorySize', () => {
  it("takes podman's sizes", () => {
    expect(parseMemorySize('512m')).toBe(512 * 1024 ** 2);
    expect(parseMemorySize('1G')).toBe(1024 ** 3);
    expect(parseMemorySize('64k')).toBe(65536);
    expect(parseMemorySize('4096')).toBe(4096);
    expect(parseMemorySize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseMemorySize(1000)).toBe(1000);
  });

  it('refuses anything else, naming the valid form', () => {
    for (const bad of ['-5', '12q', '', 'm', '0', '1e9']) {
      expect(() => parseMemorySize(bad)).toThrow(/^--memory .*: expected a size such as 512m/);
    }
  });
});

describe('parseCpus', () => {
  it('takes fractions', () => {
    expect(parseCpus('0.5')).toBe(0.5);
    expect(parseCpus('2')).toBe(2);
    expect(parseCpus('.25')).toBe(0.25);
  });

  it('refuses zero, negatives and words', () => {
    for (const bad of ['0', '-1', 'abc', '0.0', 'Infinity']) {
      expect(() => parseCpus(bad)).toThrow(/^--cpus .*: expected a positive number of CPUs/);
    }
  });
});

describe('parsePidsLimit', () => {
  it('takes whole numbers, 0 for none', () => {
    expect(parsePidsLimit('64')).toBe(64);
    expect(parsePidsLimit('0')).toBe(0);
  });

  it('refuses words and fractions', () => {
    for (const bad of ['abc', '1.5', '-3', '']) {
      expect(() => parsePidsLimit(bad)).toThrow(/^--pids-limit .*: expected a whole number/);
    }
  });
});

describe('formatMemorySize', () => {
  it('prints the largest whole unit', () => {
    expect(formatMemorySize(256 * 1024 ** 2)).toBe('256m');
    expect(formatMemorySize(1024 ** 3)).toBe('1g');
    expect(formatMemorySize(1000)).toBe('1000b');
  });
});
