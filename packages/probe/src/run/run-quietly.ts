/** How a quiet probe command ended. */
export interface QuietRunResult {
  /** Exit status, or null when it died of a signal or could not start. */
  readonly exitCode: number | null;
  /** Captured stdout (at most 64 KiB). */
  readonly stdout: string;
  /** Captured stderr (at most 64 KiB); the spawn error message when it could not start. */
  readonly stderr: string;
}

/** Options for {@link runQuietly}. */
export interface QuietRunOptions {
  /** The complete environment; defaults to `{ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill it after this long; defaults to 10 000 ms. */
  readonly timeoutMs?: number;
}

const captureLimitBytes = 64 * 1024;

/**
 * Runs a short helper command (a probe) with stdin closed and its output captured, never
 * shown: probing must be silent. Never throws; a command that cannot start resolves with
 * `exitCode: null` and the reason in `stderr`.
 */
export function runQuietly(
  file: string,
  args: readonly string[],
  options: QuietRunOptions = {},
): Promise<QuietRunResult> {
  // Loaded on first use, not with the module: `polythene exec` never needs it (see
  // spawnBackendProcess in @polythene/probe), and it costs ~4.5 ms of start-up.
  const { spawn } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let settled = false;
    const child = spawn(file, [...args], {
      env: { ...(options.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: '/',
      // Its own process group, so the timeout kills whatever it started.
      detached: true,
    });
    const timer = setTimeout(() => killGroup(child.pid), options.timeoutMs ?? 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdoutBytes < captureLimitBytes) stdout.push(chunk);
      stdoutBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrBytes < captureLimitBytes) stderr.push(chunk);
      stderrBytes += chunk.length;
    });
    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ exitCode: null, stdout: '', stderr: error.message });
    });
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        exitCode: code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
