import { PolytheneError } from '@polythene/errors';
import type { PullPolicy } from './export-image-types.ts';
import { inspectImage } from './inspect-image.ts';
import { isLocalOnlyImage, localImageMissing } from './local-only-image.ts';
import { type PodmanContext, runPodman, tryPodman } from './run-podman.ts';

const archiveTransports = ['oci-archive:', 'docker-archive:', 'oci:', 'dir:'];

/** Makes sure the image is in podman's storage per the policy and returns its id. */
export async function resolveImage(
  ref: string,
  policy: PullPolicy,
  context: PodmanContext,
): Promise<string> {
  if (ref.startsWith('containers-storage:')) {
    // Already in local storage by definition: nothing to pull whatever the policy.
    return (await inspectImage(ref.slice('containers-storage:'.length), context)).imageId;
  }
  // Archives and layouts are read from disk, never from the network, so "never" does not
  // forbid them; copying them into storage is what makes them exportable.
  const isArchive = archiveTransports.some((prefix) => ref.startsWith(prefix));
  const name = ref.startsWith('docker://') ? ref.slice('docker://'.length) : ref;
  if (!isArchive && policy !== 'always') {
    const local = await tryPodman(['image', 'inspect', '--format', '{{.Id}}', name], context);
    if (!('line' in local) && local.stdout.trim().length > 0) {
      return local.stdout.trim().split('\n')[0] ?? '';
    }
    // Podman would try https://localhost/ and report a refused connection: say what it is.
    if (isLocalOnlyImage(name)) throw localImageMissing(ref);
    if (policy === 'never') {
      throw new PolytheneError(
        'POLYTHENE_PULL_FAILED',
        `image ${ref} is not in podman's storage and the pull policy is never; pull it first or use --pull missing`,
      );
    }
  }
  const stdout = await runPodman(['pull', '--quiet', ref], `podman pull ${ref}`, context);
  const imageId = stdout.trim().split('\n').at(-1)?.trim();
  if (!imageId) {
    throw new PolytheneError('POLYTHENE_PULL_FAILED', `podman pull ${ref} printed no image id`);
  }
  return imageId;
}
