import { describe, expect, it } from 'vitest';
import { assertEntryId, isEntryId, isEntryName, newEntryId } from './entry-id.ts';

describe('newEntryId', () => {
  it('makes canonical version 7 UUIDs with the RFC 9562 variant', () => {
    const id = newEntryId();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(isEntryId(id)).toBe(true);
  });

  it('encodes the current time in the first 48 bits', () => {
    const before = Date.now();
    const id = newEntryId();
    const after = Date.now();
    const ms = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after + 1);
  });

  it('sorts ids in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => newEntryId());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('isEntryId / assertEntryId', () => {
  it.each([
    '../x',
    '/etc',
    '',
    '.',
    '..',
    ' 0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b',
    '0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b\n',
    '0190A3C4-5B6D-7E8F-9A0B-1C2D3E4F5A6B',
    '0190a3c45b6d7e8f9a0b1c2d3e4f5a6b',
    '{0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b}',
    '0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b/../../etc',
    '0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6g',
    '0190a3c4-5b6d-7e8f-9a0b+1c2d3e4f5a6b',
    '0190a3c405b6d-7e8f-9a0b-1c2d3e4f5a6b',
    '0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6\u0431',
  ])('refuses %j', (value) => {
    expect(isEntryId(value)).toBe(false);
    expect(() => assertEntryId(value)).toThrow(
      expect.objectContaining({ code: 'POLYTHENE_INVALID_ID' }),
    );
  });

  it('accepts any UUID version in canonical lowercase form', () => {
    for (const id of [
      '0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b',
      '9b2e4c1a-3f5d-4e6a-8b7c-0d1e2f3a4b5c',
    ]) {
      expect(assertEntryId(id)).toBe(id);
    }
  });

  it.each(['tools', 'ABC', 'a', 'my_image-1.2', '9lives', 'x'.repeat(64)])(
    'accepts the hand-made entry name %j',
    (name) => {
      expect(isEntryId(name)).toBe(false);
      expect(isEntryName(name)).toBe(true);
      expect(assertEntryId(name)).toBe(name);
    },
  );

  it.each([
    '.tmp-0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b.12',
    '.hidden',
    '-rf',
    '_x',
    'x'.repeat(65),
    'a b',
    'a/b',
    '..',
    'caf\u00e9',
    '0190A3C4-5B6D-7E8F-9A0B-1C2D3E4F5A6B',
    'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  ])('refuses the name %j', (name) => {
    expect(isEntryName(name)).toBe(false);
  });

  it('names the bad value escaped and truncated', () => {
    expect(() => assertEntryId('../x')).toThrow('invalid store entry id "../x"');
    expect(() => assertEntryId('a\u001b[31mb\n')).toThrow('"a\\x1b[31mb\\x0a"');
    const error = (() => {
      try {
        assertEntryId('z'.repeat(500));
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.message).toContain('… (500 characters)');
    expect(error?.message.length).toBeLessThan(260);
  });
});
