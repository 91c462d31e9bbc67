import { execa } from 'execa';

/** Options for {@link runPodman}. */
export interface RunPodmanOptions {
  /** Extra environment for podman, on top of ours. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs podman and returns its stdout; throws with the command and podman's stderr on failure. */
export async function runPodman(args: string[], options: RunPodmanOptions = {}): Promise<string> {
  const result = await execa('podman', args, {
    env: { ...options.env },
    reject: false,
    stdin: 'ignore',
  });
  if (result.failed) {
    const reason =
      result.code === 'ENOENT' ? 'podman is not installed (apt-get install podman)' : '';
    throw new Error(
      `podman ${args.join(' ')} failed (exit ${result.exitCode ?? result.signal}): ${
        reason || lastLines(result.stderr) || result.shortMessage
      }`,
      { cause: result },
    );
  }
  return result.stdout;
}

/** True when podman knows the image `ref`. */
export async function hasPodmanImage(ref: string): Promise<boolean> {
  const result = await execa('podman', ['image', 'exists', ref], {
    reject: false,
    stdin: 'ignore',
  });
  return result.exitCode === 0;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}
