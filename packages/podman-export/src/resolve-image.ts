import { PolytheneError } from '@polythene/errors';
import type { Cleanup } from './export-cleanup.ts';
import type { PullPolicy } from './export-image-types.ts';
import { inspectImage } from './inspect-image.ts';
import { isLocalOnlyImage, localImageMissing } from './local-only-image.ts';
import { type PodmanContext, runPodman, tryPodman } from './run-podman.ts';

const archiveTransports = ['oci-archive:', 'docker-archive:', 'oci:', 'dir:'];

/**
 * Makes sure the image is in podman's storage per the policy and returns its id. An archive
 * or layout that brings a new image without a name (nothing could find it again) gets a
 * clean-up that removes it from podman's storage after the export.
 */
export async function resolveImage(
  ref: string,
  policy: PullPolicy,
  context: PodmanContext,
  cleanups: Cleanup[],
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
  const before = isArchive ? await listImageIds(context) : undefined;
  const stdout = await runPodman(['pull', '--quiet', ref], `podman pull ${ref}`, context);
  const imageId = stdout.trim().split('\n').at(-1)?.trim();
  if (!imageId) {
    throw new PolytheneError('POLYTHENE_PULL_FAILED', `podman pull ${ref} printed no image id`);
  }
  if (before !== undefined && !before.has(imageId)) {
    cleanups.push((cleanupContext) => removeIfUnnamed(imageId, cleanupContext));
  }
  return imageId;
}

async function listImageIds(context: PodmanContext): Promise<Set<string> | undefined> {
  const listed = await tryPodman(['images', '--all', '--quiet', '--no-trunc'], context);
  if ('line' in listed) return undefined;
  return new Set(listed.stdout.split('\n').map((line) => line.trim().replace(/^sha256:/, '')));
}

async function removeIfUnnamed(imageId: string, context: PodmanContext): Promise<void> {
  const names = await tryPodman(
    ['image', 'inspect', '--format', '{{len .RepoTags}}', imageId],
    context,
  );
  if ('line' in names || names.stdout.trim() !== '0') return;
  const removed = await tryPodman(['rmi', imageId], context);
  if ('line' in removed)
    context.log(`removing the unnamed image ${imageId} failed: ${removed.line}`);
}
