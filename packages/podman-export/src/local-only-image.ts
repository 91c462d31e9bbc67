import { PolytheneError } from '@polythene/errors';

/**
 * True for `localhost/NAME[:TAG]`: the name podman gives images built or imported here, which
 * no registry serves (`localhost:5000/…`, with a port, is a real registry and does not count).
 */
export function isLocalOnlyImage(ref: string): boolean {
  return ref.startsWith('localhost/');
}

/** The error for a `localhost/…` image missing from podman's storage: where to look instead. */
export function localImageMissing(ref: string): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_PULL_FAILED',
    `image ${ref} is not in local storage and no registry serves localhost/ names; list the local images with \`podman images\`, or put it there with \`podman build -t ${ref}\`, \`podman load -i FILE\` or \`podman import FILE ${ref}\``,
  );
}
