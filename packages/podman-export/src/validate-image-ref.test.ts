import { hasErrorCode } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import { maxImageRefLength, validateImageRef } from './validate-image-ref.ts';

function problemOf(ref: string): string {
  try {
    validateImageRef(ref);
  } catch (error) {
    expect(hasErrorCode(error, 'POLYTHENE_INVALID_IMAGE_REF')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`accepted ${ref}`);
}

describe('validateImageRef', () => {
  it.each([
    'busybox',
    'busybox:latest',
    'docker.io/library/busybox:1.36',
    'localhost/polythene-test/busybox:latest',
    '127.0.0.1:5000/polythene-test/busybox:latest',
    'localhost:5000/x',
    'registry.example.com:443/team/image@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    'busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    'docker://docker.io/library/busybox:latest',
    'oci-archive:/tmp/busybox.oci.tar',
    'oci-archive:relative/path.tar:tag',
    'docker-archive:/tmp/busybox.docker.tar',
    'oci:/tmp/layout:latest',
    'dir:/tmp/busybox-dir',
    'containers-storage:localhost/polythene-test/busybox:latest',
  ])('accepts %s unchanged', (ref) => {
    expect(validateImageRef(ref)).toBe(ref);
  });

  it.each([
    ['', 'empty'],
    ['-v', 'option'],
    ['--help', 'option'],
    ['--storage-driver=vfs', 'option'],
    ['busy box', 'whitespace'],
    ['busybox\n', 'control'],
    ['busybox\u0000', 'control'],
    ['busybox\u00a0', 'whitespace'],
    ['a'.repeat(maxImageRefLength + 1), 'longer than 2048'],
    ['docker:busybox', 'docker://'],
    ['docker://', 'docker://'],
    ['docker://--help', '"-"'],
    ['oci-archive:', 'needs a path'],
    ['oci-archive:--output', '"-"'],
    ['docker-daemon:busybox:latest', 'not supported'],
    ['tarball:/tmp/x.tar', 'not supported'],
    ['sif:/tmp/x.sif', 'not supported'],
    ['ftp://example.com/x', 'not a known transport'],
    ['http://127.0.0.1:5000/x', 'not a known transport'],
    ['file:/etc/passwd', 'not a known transport'],
  ])('refuses %j (%s)', (ref, reason) => {
    expect(problemOf(ref)).toContain(reason);
  });

  it('refuses non-strings from untyped callers', () => {
    expect(problemOf(undefined as unknown as string)).toContain('empty');
  });
});
