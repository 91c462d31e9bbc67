import { type ChildProcess, spawn } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestUser, testUserEnv } from '@polythene/test-images';

const vitestEntry = join(
  dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);

/** Where a fixture suite keeps its store, results, vite cache and temporary files. */
export interface FixtureWorkspace {
  readonly dir: string;
  readonly store: string;
  readonly results: string;
  readonly cache: string;
  /**
   * The suite's TMPDIR: vitest keeps a directory there that it leaves behind when it is
   * stopped by a signal, as some of these runs are; it goes with the workspace.
   */
  readonly tmp: string;
}

/** A scratch workspace for one fixture run, owned by `user` when given. */
export async function createFixtureWorkspace(user?: TestUser): Promise<FixtureWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), 'polythene-testkit-fixture-'));
  const workspace = {
    dir,
    store: join(dir, 'store'),
    results: join(dir, 'results'),
    cache: join(dir, 'cache'),
    tmp: join(dir, 'tmp'),
  };
  await mkdir(workspace.results);
  await mkdir(workspace.cache);
  await mkdir(workspace.tmp);
  if (user) {
    for (const path of [dir, workspace.results, workspace.cache, workspace.tmp])
      await chown(path, user.uid, user.gid);
  }
  return workspace;
}

/** A vitest run of a fixture suite in its own process group (so it can be sent Ctrl-C). */
export interface FixtureRun {
  readonly child: ChildProcess;
  /** Resolves when vitest exits, with its combined output. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/** Starts `vitest run --config test/fixtures/<suite>/vitest.config.ts [filter]`, as root or as `user`. */
export function startFixtureSuite(options: {
  suite: string;
  filter?: string;
  workspace: FixtureWorkspace;
  env: Record<string, string>;
  user?: TestUser;
}): FixtureRun {
  const config = join(import.meta.dirname, 'fixtures', options.suite, 'vitest.config.ts');
  const args = [
    vitestEntry,
    'run',
    // The default config loader writes a bundled config next to the file: not as the test user.
    '--configLoader',
    'runner',
    '--config',
    config,
    ...(options.filter ? [options.filter] : []),
  ];
  const env = {
    FIXTURE_RESULTS: options.workspace.results,
    FIXTURE_CACHE_DIR: options.workspace.cache,
    POLYTHENE_STORE: options.workspace.store,
    TMPDIR: options.workspace.tmp,
    ...options.env,
  };
  const child = options.user
    ? spawn('runuser', ['-u', options.user.name, '--', process.execPath, ...args], {
        env: { ...testUserEnv(options.user), ...env },
        cwd: options.workspace.dir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, args, {
        env: { ...process.env, ...env },
        cwd: options.workspace.dir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>(
    (resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, output }));
    },
  );
  return { child, done };
}

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Scratch directories (boxes, ephemeral copies) present in the store. */
export async function listScratchDirs(store: string): Promise<string[]> {
  const names = await readdir(store).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith('.scratch-'));
}

/** Lines of /proc/mounts that mention `path`. */
export async function findMountsUnder(path: string): Promise<string[]> {
  return (await readFile('/proc/mounts', 'utf8')).split('\n').filter((line) => line.includes(path));
}

/** Pids of `sleep SECONDS` processes (exec resolves the command, so argv[0] is a path). */
export async function findSleepProcesses(seconds: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.endsWith('sleep') && argv[1] === seconds && argv.length === 3)
      pids.push(Number(name));
  }
  return pids;
}
