import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { execa } from 'execa';
import { ownerBootLabel, ownerPidLabel, pullLabel, readBootId } from './container-labels.ts';
import type { Cleanup } from './export-cleanup.ts';
import type { ExtractStats } from './extract-tar-stream.ts';
import { type PodmanContext, runPodman, tryPodman } from './run-podman.ts';
import { type StreamTarget, streamInto } from './stream-into.ts';
import { tarXattrArgs } from './tar-xattr-args.ts';

/**
 * Root reads the image's own storage mount; rootless podman keeps mounts inside its user
 * namespace, so both the mount and the reading tar run under `podman unshare`. Returns
 * undefined (after cleaning up) when mounting is not possible here and `isForced` is false.
 */
export async function exportFromMount(
  imageId: string,
  target: StreamTarget,
  cleanups: Cleanup[],
  isForced: boolean,
): Promise<ExtractStats | undefined> {
  const useUnshare = process.getuid?.() !== 0;
  const mountContext: PodmanContext = { ...target.context, useUnshare };
  const mounted = await tryPodman(['image', 'mount', imageId], mountContext);
  if ('line' in mounted) {
    if (isForced) {
      throw new PolytheneError(
        'POLYTHENE_PULL_FAILED',
        `podman image mount ${imageId} failed: ${mounted.line}`,
      );
    }
    target.context.log(`podman image mount unavailable (${mounted.line}); using podman export`);
    return undefined;
  }
  cleanups.push(async (context) => {
    await tryPodman(['image', 'umount', imageId], { ...context, useUnshare });
  });
  const mountPath = mounted.stdout.trim();
  if (!mountPath.startsWith('/')) {
    throw new PolytheneError(
      'POLYTHENE_PULL_FAILED',
      `podman image mount printed no path: ${mountPath}`,
    );
  }
  const tarArgs = [
    '--create',
    '--file=-',
    `--directory=${mountPath}`,
    '--numeric-owner',
    '--warning=no-file-ignored',
    // pax carries extended attributes; the extractor decides which it keeps.
    '--format=posix',
    '--pax-option=delete=atime,delete=ctime',
    ...tarXattrArgs(true),
    '.',
  ];
  const [file, args] = useUnshare ? ['podman', ['unshare', 'tar', ...tarArgs]] : ['tar', tarArgs];
  return await streamInto(file, args, `reading the mounted image ${imageId}`, target);
}

export async function exportFromContainer(
  imageId: string,
  target: StreamTarget,
  cleanups: Cleanup[],
): Promise<ExtractStats> {
  const token = randomUUID();
  // Registered before create: if create is killed half-way, the label still finds it.
  cleanups.push(async (context) => {
    const removed = await tryPodman(
      ['rm', '--force', '--filter', `label=${pullLabel}=${token}`],
      context,
    );
    if ('line' in removed && !/no container/i.test(removed.line)) {
      context.log(`removing the export container failed: ${removed.line}`);
    }
  });
  const created = await runPodman(
    [
      'create',
      '--pull=never',
      '--label',
      `${pullLabel}=${token}`,
      '--label',
      `${ownerPidLabel}=${process.pid}`,
      '--label',
      `${ownerBootLabel}=${readBootId()}`,
      // Never started: the entrypoint only satisfies create for images without a command.
      '--entrypoint=/.polythene-never-started',
      imageId,
    ],
    `podman create ${imageId}`,
    target.context,
  );
  const containerId = created.trim().split('\n').at(-1)?.trim() ?? '';
  if (!/^[0-9a-f]{12,64}$/.test(containerId)) {
    throw new PolytheneError(
      'POLYTHENE_PULL_FAILED',
      `podman create printed no container id: ${containerId}`,
    );
  }
  // podman export opens /dev/stdout by path, which fails (ENXIO) on the socket Node gives a
  // child as stdout; a private fifo is a real pipe it can open.
  const fifoDir = await mkdtemp(join(tmpdir(), 'polythene-export-'));
  try {
    const fifoPath = join(fifoDir, 'rootfs.tar');
    await execa('mkfifo', ['-m', '600', fifoPath]);
    return await streamInto(
      'podman',
      ['export', '--output', fifoPath, containerId],
      `podman export ${containerId}`,
      target,
      fifoPath,
    );
  } finally {
    await rm(fifoDir, { recursive: true, force: true });
  }
}
