import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsTestUser } from '@polythene/test-images';
import { execa, type ResultPromise } from 'execa';

/** The built CLI the tests drive, exactly as users run it. */
export const POLYTHENE_BIN: string = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'dist',
  'polythene.cjs',
);

/** What one polythene invocation did. */
export interface PolytheneRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link runPolythene}. */
export interface RunPolytheneOptions {
  readonly env?: Record<string, string | undefined>;
  readonly input?: string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/**
 * Runs `polythene ARGS` as root with a controlled environment: the host's, minus any
 * POLYTHENE_* the developer set, plus `env`.
 */
export async function runPolythene(
  args: readonly string[],
  options: RunPolytheneOptions = {},
): Promise<PolytheneRun> {
  const result = await startPolythene(args, options);
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

/** Starts `polythene ARGS` and returns the running process, for signal tests. */
export function startPolythene(
  args: readonly string[],
  options: RunPolytheneOptions = {},
): ResultPromise<{ reject: false }> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('POLYTHENE_')) delete env[key];
  Object.assign(env, options.env);
  return execa(process.execPath, [POLYTHENE_BIN, ...args], {
    env,
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    input: options.input,
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 170_000,
  }) as ResultPromise<{ reject: false }>;
}

/** Runs `polythene ARGS` as the unprivileged test user. */
export async function runPolytheneAs(
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    input?: string;
    cwd?: string;
    refuseUserNamespaces?: boolean;
  } = {},
): Promise<PolytheneRun> {
  const result = await runAsTestUser([process.execPath, POLYTHENE_BIN, ...args], {
    env: options.env,
    refuseUserNamespaces: options.refuseUserNamespaces ?? false,
    input: options.input,
    cwd: options.cwd,
    timeoutMs: 170_000,
    reject: false,
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

const pathsToRemove: string[] = [];

/**
 * Marks a temporary path (a store, a project directory) for removal once the test file has
 * run (see `remove-temporary-paths.ts`, a setup file): tests leave nothing in /tmp.
 */
export function removeWhenDone<T extends string>(path: T): T {
  pathsToRemove.push(path);
  return path;
}

/** Removes every path given to {@link removeWhenDone} so far. */
export async function removeTemporaryPaths(): Promise<void> {
  const paths = pathsToRemove.splice(0);
  await Promise.all(paths.map((path) => rm(path, { recursive: true, force: true })));
}

/** A fresh, empty store directory path (not yet created) under the system temp dir. */
export async function freshStorePath(prefix = 'polythene-cli-test-'): Promise<string> {
  return join(removeWhenDone(await mkdtemp(join(tmpdir(), prefix))), 'store');
}

/** Names in a store directory, sorted, for "nothing changed" assertions. */
export async function listStoreNames(store: string): Promise<string[]> {
  try {
    return (await readdir(store)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Containers podman holds with the polythene pull label, for "nothing leaked" assertions. */
export async function listLabelledContainers(env?: Record<string, string>): Promise<string[]> {
  const { stdout } = await execa(
    'podman',
    ['ps', '-a', '--filter', 'label=io.polythene.pull', '--format', '{{.ID}}'],
    {
      env,
    },
  );
  return stdout.split('\n').filter(Boolean);
}

/** The canonical UUID shape every id printed by `pull` must have. */
export const UUID_PATTERN: RegExp =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
