import { isPolytheneError, PolytheneError } from '@polythene/errors';
import { createPodmanEnv } from './create-podman-env.ts';
import { type Cleanup, cleanupWith } from './export-cleanup.ts';
import type {
  ExportedImage,
  ExportImageOptions,
  ExportMethod,
  ExportPhase,
  PullPolicy,
} from './export-image-types.ts';
import { exportFromContainer, exportFromMount } from './export-routes.ts';
import type { ExtractStats } from './extract-tar-stream.ts';
import { type InspectedImage, inspectImage } from './inspect-image.ts';
import { removeLeftoverContainers } from './remove-leftover-containers.ts';
import { resolveImage } from './resolve-image.ts';
import { type PodmanContext, throwIfAborted } from './run-podman.ts';
import type { StreamTarget } from './stream-into.ts';
import { validateImageRef } from './validate-image-ref.ts';

export type {
  ExportedImage,
  ExportImageOptions,
  ExportMethod,
  ExportPhase,
  ExportProgress,
  PullPolicy,
} from './export-image-types.ts';

const pullPolicies: readonly PullPolicy[] = ['always', 'missing', 'never'];
const cleanupTimeoutMs = 60_000;

/**
 * Turns an image into a root filesystem in `targetDir`: pull per policy, read the config
 * with `podman image inspect`, then stream the tree out of podman (from `podman image mount`
 * where it works, else a labelled stopped container and `podman export`) through the safe
 * extractor (`extractTarStream`). Whatever happens — failure, timeout, abort — the
 * container is removed and the mount released before this settles.
 *
 * @throws PolytheneError `POLYTHENE_INVALID_IMAGE_REF`, `POLYTHENE_USAGE` (bad policy),
 * `POLYTHENE_PODMAN_MISSING`, `POLYTHENE_PULL_FAILED` (with podman's stderr line),
 * `POLYTHENE_EXTRACT_FAILED`, `POLYTHENE_TIMEOUT`, `POLYTHENE_INTERRUPTED`. On failure
 * `targetDir` may hold a partial tree: the caller discards it.
 */
export async function exportImage(options: ExportImageOptions): Promise<ExportedImage> {
  const ref = validateImageRef(options.ref);
  const policy = options.pullPolicy ?? 'missing';
  if (!pullPolicies.includes(policy)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `unknown pull policy ${JSON.stringify(policy)}; use always, missing or never`,
    );
  }
  const method = options.method ?? 'auto';
  const log = options.log ?? (() => {});
  const env = createPodmanEnv(options.env ?? process.env);
  if (options.abortSignal?.aborted) {
    throw interrupted(ref);
  }
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(interrupted(ref));
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            controller.abort(
              new PolytheneError(
                'POLYTHENE_TIMEOUT',
                `pulling ${ref} took longer than ${options.timeoutMs} ms; nothing was kept — raise the timeout or check the registry`,
              ),
            ),
          options.timeoutMs,
        );
  const context: PodmanContext = { env, signal: controller.signal, log };
  const cleanups: Cleanup[] = [];
  const report = (phase: ExportPhase, bytes = 0, files = 0): void =>
    options.onProgress?.({ phase, bytes, files });
  try {
    await removeLeftoverContainers({ env, log }).catch((error: unknown) => {
      if (isPolytheneError(error)) throw error;
      log(`leftover clean-up skipped: ${String(error)}`);
    });
    report('pull');
    const imageId = await resolveImage(ref, policy, context, cleanups);
    throwIfAborted(controller.signal);
    const inspected = await inspectImage(imageId, context);
    const stream: StreamTarget = {
      report,
      context,
      targetDir: options.targetDir,
      userNamespacePrefix: options.userNamespacePrefix,
    };
    let stats: ExtractStats | undefined;
    let route: ExportMethod = 'export';
    if (method !== 'export') {
      stats = await exportFromMount(inspected.imageId, stream, cleanups, method === 'mount');
      route = 'mount';
    }
    if (stats === undefined) {
      report('create');
      stats = await exportFromContainer(inspected.imageId, stream, cleanups);
      route = 'export';
    }
    return toExportedImage(inspected, stats, route);
  } finally {
    clearTimeout(timer);
    options.abortSignal?.removeEventListener('abort', onAbort);
    if (cleanups.length > 0) {
      report('cleanup');
    }
    // Clean-up runs with its own deadline: the pull's signal may already have fired.
    const cleanupContext: PodmanContext = {
      env,
      log,
      signal: AbortSignal.timeout(cleanupTimeoutMs),
    };
    for (const cleanup of cleanups.reverse()) {
      await cleanupWith(cleanup, cleanupContext, log);
    }
  }
}

function interrupted(ref: string): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_INTERRUPTED',
    `pulling ${ref} was interrupted; nothing was kept`,
  );
}

function toExportedImage(
  inspected: InspectedImage,
  stats: ExtractStats,
  method: ExportMethod,
): ExportedImage {
  return {
    ...inspected,
    bytesExported: stats.bytesRead,
    filesExtracted: stats.filesExtracted,
    skippedSpecialFiles: stats.skippedSpecialFiles,
    method,
  };
}
