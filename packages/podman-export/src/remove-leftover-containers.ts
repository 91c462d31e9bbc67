import { isProcessAlive } from '@polythene/host';
import { ownerBootLabel, ownerPidLabel, pullLabel, readBootId } from './container-labels.ts';
import { createPodmanEnv } from './create-podman-env.ts';
import { tryPodman } from './run-podman.ts';

/** Options for {@link removeLeftoverContainers}. */
export interface RemoveLeftoverContainersOptions {
  /** Host environment for podman; default `process.env` (podman defaults applied). */
  env?: Record<string, string | undefined>;
  /** Verbose log sink. */
  log?: (line: string) => void;
}

/**
 * Removes containers a Polythene pull created (label `io.polythene.pull`) whose owning
 * process is gone: killed with SIGKILL, or from an earlier boot. Containers of pulls still
 * running are left alone. Best effort: podman failures are logged, not thrown.
 *
 * @returns The ids of the containers removed.
 * @throws PolytheneError `POLYTHENE_PODMAN_MISSING` when podman is not installed.
 */
export async function removeLeftoverContainers(
  options: RemoveLeftoverContainersOptions = {},
): Promise<string[]> {
  const log = options.log ?? (() => {});
  const context = { env: createPodmanEnv(options.env ?? process.env), log };
  const listed = await tryPodman(
    ['container', 'ls', '--all', '--filter', `label=${pullLabel}`, '--format', 'json'],
    context,
  );
  if ('line' in listed) {
    log(`listing leftover containers failed: ${listed.line}`);
    return [];
  }
  const bootId = readBootId();
  const stale: string[] = [];
  for (const container of JSON.parse(listed.stdout || '[]') as Array<{
    Id: string;
    Labels?: Record<string, string> | null;
  }>) {
    const labels = container.Labels ?? {};
    const pid = Number(labels[ownerPidLabel]);
    const isSameBoot = labels[ownerBootLabel] === bootId;
    if (!isSameBoot || !Number.isSafeInteger(pid) || pid <= 0 || !isProcessAlive(pid)) {
      stale.push(container.Id);
    }
  }
  if (stale.length === 0) {
    return [];
  }
  const removed = await tryPodman(['rm', '--force', '--ignore', ...stale], context);
  if ('line' in removed) {
    log(`removing leftover containers failed: ${removed.line}`);
    return [];
  }
  return stale;
}
