import { describe, expect, it } from 'vitest';
import { createBoundedCapture } from './bounded-capture.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

describe('createBoundedCapture', () => {
  it('keeps everything under the limit and is not truncated', () => {
    const capture = createBoundedCapture(10);
    capture.push(bytes('hello'));
    capture.push(bytes('world'));
    expect(text(capture.bytes())).toBe('helloworld');
    expect(capture.isTruncated).toBe(false);
  });

  it('keeps exactly the limit and marks the rest as dropped', () => {
    const capture = createBoundedCapture(7);
    capture.push(bytes('hello'));
    capture.push(bytes('world'));
    capture.push(bytes('again'));
    expect(text(capture.bytes())).toBe('hellowo');
    expect(capture.isTruncated).toBe(true);
  });

  it('with a zero limit keeps nothing', () => {
    const capture = createBoundedCapture(0);
    capture.push(bytes('x'));
    expect(capture.bytes().length).toBe(0);
    expect(capture.isTruncated).toBe(true);
  });
});
