import { PolytheneError } from '@polythene/errors';

/** The longest image reference accepted, in characters: a registry ref is at most ~400, a local path well under `PATH_MAX`. */
export const maxImageRefLength = 2048;

// Transports podman reads without a registry; allowed on purpose so images can be pulled
// offline from archives and layouts on disk.
const localTransports = new Set([
  'oci-archive',
  'docker-archive',
  'oci',
  'dir',
  'containers-storage',
]);

// Transports containers/image knows but Polythene does not offer: they talk to other daemons
// (docker-daemon) or read formats we never test (tarball, sif, ostree).
const refusedTransports = new Set(['docker-daemon', 'tarball', 'sif', 'ostree', 'atomic']);

const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@[A-Za-z0-9+._-]+:[A-Za-z0-9=_-]+)?$/;
const portPattern = /^\d{1,5}(\/|$)/;

/**
 * Checks an image reference before it reaches podman's argv and returns it unchanged.
 *
 * Refused: empty, longer than {@link maxImageRefLength}, a leading `-` (podman would read a
 * flag), whitespace or control characters, and `prefix:` forms that are neither a known
 * transport, a `host:port`, nor an `image:tag`. Allowed: registry references
 * (`docker.io/library/busybox:latest`, `127.0.0.1:5000/x`, `name@sha256:…`), `docker://…`,
 * and the local transports `oci-archive:`, `docker-archive:`, `oci:`, `dir:`,
 * `containers-storage:`.
 *
 * @throws PolytheneError `POLYTHENE_INVALID_IMAGE_REF` naming what is wrong.
 */
export function validateImageRef(ref: string): string {
  const problem = findImageRefProblem(ref);
  if (problem !== undefined) {
    throw new PolytheneError(
      'POLYTHENE_INVALID_IMAGE_REF',
      `invalid image reference ${JSON.stringify(String(ref).slice(0, 200))}: ${problem}`,
    );
  }
  return ref;
}

function findImageRefProblem(ref: unknown): string | undefined {
  if (typeof ref !== 'string' || ref.length === 0) {
    return 'it is empty; pass an image such as docker.io/library/busybox:latest';
  }
  if (ref.length > maxImageRefLength) {
    return `it is longer than ${maxImageRefLength} characters`;
  }
  if (ref.startsWith('-')) {
    return 'it starts with "-" and podman would read it as an option';
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (/[\u0000-\u001f\u007f-\u009f]/.test(ref)) {
    return 'it contains control characters';
  }
  if (/\s/u.test(ref)) {
    return 'it contains whitespace';
  }
  const prefix = /^([^:/@]+):(.*)$/s.exec(ref);
  if (prefix === null) {
    return undefined;
  }
  const [, scheme = '', rest = ''] = prefix;
  if (scheme === 'docker') {
    if (!rest.startsWith('//') || rest.length === 2) {
      return 'the docker transport is written docker://REGISTRY/IMAGE';
    }
    const inner = rest.slice(2);
    return inner.startsWith('-') ? 'the image after docker:// starts with "-"' : undefined;
  }
  if (localTransports.has(scheme)) {
    if (rest.length === 0) {
      return `the ${scheme}: transport needs a path or image after the colon`;
    }
    return rest.startsWith('-') ? `the path after ${scheme}: starts with "-"` : undefined;
  }
  if (refusedTransports.has(scheme)) {
    return `the ${scheme}: transport is not supported; use a registry reference or oci-archive:, docker-archive:, oci:, dir:, containers-storage:`;
  }
  if (portPattern.test(rest) || tagPattern.test(rest)) {
    return undefined;
  }
  return `"${scheme}:" is not a known transport, host:port or image:tag; supported transports are docker://, oci-archive:, docker-archive:, oci:, dir:, containers-storage:`;
}
