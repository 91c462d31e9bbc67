import type { PodmanContext } from './run-podman.ts';

export type Cleanup = (context: PodmanContext) => Promise<void>;

export async function cleanupWith(
  cleanup: Cleanup,
  context: PodmanContext,
  log: (line: string) => void,
): Promise<void> {
  try {
    await cleanup(context);
  } catch (error) {
    log(`clean-up step failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
