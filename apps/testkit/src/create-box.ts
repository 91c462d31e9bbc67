import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { createThrowawayRoot, exec } from '@polythene/core';
import { isPolytheneError, PolytheneError } from '@polythene/errors';
import type { Backend } from '@polythene/probe';
import {
  diffLayers,
  existsInLayers,
  readFileInLayers,
  type Store,
  type TreeDiff,
  writeFileInLayers,
} from '@polythene/store';
import type {
  Box,
  BoxExecOptions,
  BoxExecResult,
  BoxLimits,
  BoxWriteFileOptions,
} from './box-types.ts';
import type { BoxMethod } from './choose-box-method.ts';
import { diffTrees } from './diff-trees.ts';
import { registerScratchDir, unregisterScratchDir, watchStore } from './live-scratch-dirs.ts';

/** What {@link createBox} needs to know about the image. */
export interface CreateBoxOptions {
  readonly store: Store;
  readonly ref: string;
  readonly entryId: string;
  readonly method: BoxMethod;
  readonly isolation: string | undefined;
  /** The backends its commands run with (see findBackends). */
  readonly backends: readonly Backend[];
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** The box's default network mode; undefined leaves it to `POLYTHENE_NETWORK`. */
  readonly network?: string;
  /** `SRC:DEST:ro|rw` binds for every command (see resolveBoxBinds). */
  readonly binds?: readonly string[];
  /** Absolute host directory bound at /workspace for every command. */
  readonly workspace?: string | undefined;
  /** Limits for every command run in the box. */
  readonly limits?: BoxLimits;
}

const decoder = new TextDecoder();

/** Makes a box: a scratch overlay layer or a scratch copy of the entry, registered for clean-up. */
export async function createBox(options: CreateBoxOptions): Promise<Box> {
  const { store, entryId, method, hostEnv } = options;
  // Before anything exists on disk, so even a kill during a long copy leaves nothing.
  watchStore(store.dir);
  // The box uses its entry for as long as it lives (a copied box's diff compares with it),
  // so rm and prune leave the entry alone until dispose. Marked before the root is made, as
  // an exec marks before it looks the entry up.
  const mark = store.markInUse(entryId);
  // The same throwaway root `exec --ephemeral` runs on: a scratch overlay layer or a copy.
  const root = await createThrowawayRoot(store, entryId, method).catch((error: unknown) => {
    mark.release();
    throw error;
  });
  const { view } = root;
  const scratchDir = dirname(root.overlay?.upperDir ?? root.rootfs);
  const disposeScratch = (): Promise<void> => root.dispose();
  let diffBox: () => Promise<TreeDiff>;
  if (root.overlay !== undefined) {
    const { upperDir, lowerDirs } = root.overlay;
    diffBox = () => diffLayers(upperDir, lowerDirs);
  } else {
    const source = await store.entryLayers(entryId);
    diffBox = () => {
      if (source.layout !== 'directory') {
        throw new PolytheneError(
          'POLYTHENE_USAGE',
          `box.diff(): entry ${entryId} is an overlay clone; a copied box can only diff against a directory entry: use an image pulled by the testkit`,
        );
      }
      return diffTrees(source.rootfs, root.rootfs);
    };
  }
  registerScratchDir(store.dir, scratchDir);

  const running = new Set<Promise<unknown>>();
  const abortController = new AbortController();
  let disposed: Promise<void> | undefined;

  function assertLive(operation: string): void {
    if (disposed !== undefined) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `box.${operation}() after dispose: the box of ${options.ref} is gone; make a new one with image.box()`,
      );
    }
  }

  async function execInBox(
    command: string | readonly string[],
    execOptions: BoxExecOptions = {},
  ): Promise<BoxExecResult> {
    assertLive('exec');
    const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
    const run = exec({
      id: entryId,
      store: store.dir,
      hostEnv,
      command: argv,
      backends: options.backends,
      isolation: options.isolation,
      network: execOptions.network ?? options.network,
      publish: execOptions.publish,
      env: toEnvFlags(execOptions.env),
      workdir: execOptions.cwd,
      user: execOptions.user === undefined ? undefined : String(execOptions.user),
      timeoutMs: execOptions.timeoutMs,
      binds: options.binds,
      workspace: options.workspace,
      stdio: 'pipe',
      input: execOptions.input ?? '',
      abortSignal: abortController.signal,
      // The limits by name: exec refuses options it does not know.
      memory: options.limits?.memory,
      cpus: options.limits?.cpus,
      pidsLimit: options.limits?.pidsLimit,
      root,
    });
    running.add(run);
    try {
      const result = await run;
      return {
        command: argv,
        exitCode:
          result.limit === 'memory'
            ? 137
            : toExitCode(result.exitCode, result.signal, result.timedOut),
        signal: result.signal,
        timedOut: result.timedOut,
        stdout: decoder.decode(result.stdout ?? new Uint8Array()),
        stderr: decoder.decode(result.stderr ?? new Uint8Array()),
        backend: result.backend,
        guarantees: result.guarantees,
        network: result.network,
        durationMs: result.durationMs,
        ...(result.limit !== undefined ? { limit: result.limit } : {}),
      };
    } finally {
      running.delete(run);
    }
  }

  async function readFileInBox(path: string, encoding?: BufferEncoding | null): Promise<never> {
    assertLive('readFile');
    let data: Buffer | undefined;
    try {
      // Opened one component at a time below the layer, never through a symlink: a command
      // in the box that swaps a directory for a symlink cannot make us read a host file.
      data = await readFileInLayers(view, checkPath('readFile', path));
    } catch (error) {
      if (isPolytheneError(error)) {
        throw new PolytheneError(
          'POLYTHENE_USAGE',
          `box.readFile(${JSON.stringify(path)}): ${error.message}`,
          { cause: error },
        );
      }
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `box.readFile(${JSON.stringify(path)}): cannot open it (${(error as Error).message}); is it a regular file?`,
        { cause: error },
      );
    }
    if (data === undefined) throw noSuchFile('readFile', path);
    return (encoding === null ? data : data.toString(encoding ?? 'utf8')) as never;
  }

  async function writeFileInBox(
    path: string,
    data: string | Uint8Array,
    writeOptions: BoxWriteFileOptions = {},
  ): Promise<void> {
    assertLive('writeFile');
    await writeFileInLayers(view, checkPath('writeFile', path), data, writeOptions.mode);
  }

  async function existsInBox(path: string): Promise<boolean> {
    assertLive('exists');
    return existsInLayers(view, checkPath('exists', path));
  }

  async function dispose(): Promise<void> {
    disposed ??= (async () => {
      // A timed-out test may still be running a command here: end it before deleting its root.
      abortController.abort();
      await Promise.allSettled([...running]);
      await disposeScratch();
      unregisterScratchDir(scratchDir);
      mark.release();
    })();
    return disposed;
  }

  return {
    ref: options.ref,
    entryId,
    method,
    scratchDir,
    exec: execInBox,
    readFile: readFileInBox as Box['readFile'],
    writeFile: writeFileInBox,
    exists: existsInBox,
    diff: () => {
      assertLive('diff');
      return diffBox();
    },
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

function checkPath(operation: string, path: string): string {
  if (!path.startsWith('/')) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `box.${operation}(${JSON.stringify(path)}): paths in a box are absolute (inside its root filesystem); write /${path}`,
    );
  }
  return path;
}

function noSuchFile(operation: string, path: string): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_USAGE',
    `box.${operation}(${JSON.stringify(path)}): no such file in the box; check box.exists() first or create it`,
    { cause: Object.assign(new Error('ENOENT'), { code: 'ENOENT' }) },
  );
}

function toEnvFlags(env: BoxExecOptions['env']): string[] | undefined {
  if (env === undefined) return undefined;
  const flags = Array.isArray(env)
    ? [...(env as readonly string[])]
    : Object.entries(env as Record<string, string>).map(([key, value]) => `${key}=${value}`);
  for (const flag of flags) {
    // `KEY` alone would copy the host's value: a box only takes what the test spells out.
    if (!flag.includes('=')) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `box.exec env ${JSON.stringify(flag)}: give KEY=VALUE; the host environment is never copied into a box`,
      );
    }
  }
  return flags;
}

function toExitCode(
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  timedOut: boolean,
): number {
  if (timedOut) return 124;
  if (exitCode !== null) return exitCode;
  const signalNumber = signal === null ? undefined : osConstants.signals[signal];
  return signalNumber === undefined ? 1 : 128 + signalNumber;
}
