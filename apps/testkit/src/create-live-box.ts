import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { PolytheneError } from '@polythene/errors';
import type { BoxExecOptions, BoxExecResult } from './box-types.ts';
import type {
  LiveBox,
  LiveBoxOptions,
  LiveBoxProcess,
  LiveBoxSpawnOptions,
  WaitOptions,
} from './live-box-types.ts';
import { loadLiveBoxApi } from './load-live-box-api.ts';
import { isListeningIn, waitUntil } from './wait-until.ts';

/** What {@link createLiveBox} needs to know about the image. */
export interface CreateLiveBoxOptions extends LiveBoxOptions {
  readonly store: string;
  readonly entryId: string;
  readonly isolation: string | undefined;
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
}

const decoder = new TextDecoder();

/** Starts a box that stays up on the image's entry (`polythene start`). */
export async function createLiveBox(options: CreateLiveBoxOptions): Promise<LiveBox> {
  const { store, hostEnv } = options;
  const { execInBox, readBoxLog, spawnInBox, startBox, stopBox } = await loadLiveBoxApi();
  const started = await startBox({
    entry: options.entryId,
    store,
    hostEnv,
    isolation: options.isolation,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.binds === undefined ? {} : { binds: options.binds }),
    ...(options.expireAfterMs === undefined ? {} : { expireAfterMs: options.expireAfterMs }),
  });
  const boxId = started.id;
  const processes = new Set<LiveBoxProcess>();
  let disposed: Promise<void> | undefined;

  function assertLive(operation: string): void {
    if (disposed !== undefined) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `box.${operation}() after dispose: box ${boxId} is stopped; start a new one with image.box({ keepAlive: true })`,
      );
    }
  }

  async function exec(
    command: string | readonly string[],
    execOptions: BoxExecOptions = {},
  ): Promise<BoxExecResult> {
    assertLive('exec');
    const argv = toArgv(command);
    const result = await execInBox({
      box: boxId,
      store,
      hostEnv,
      command: argv,
      env: toEnvFlags(execOptions.env),
      workdir: execOptions.cwd,
      user: execOptions.user === undefined ? undefined : String(execOptions.user),
      timeoutMs: execOptions.timeoutMs,
      stdio: 'pipe',
      input: execOptions.input ?? '',
    });
    return {
      command: argv,
      exitCode: toExitCode(result.exitCode, result.signal, result.timedOut),
      signal: result.signal,
      timedOut: result.timedOut,
      stdout: decoder.decode(result.stdout ?? new Uint8Array()),
      stderr: decoder.decode(result.stderr ?? new Uint8Array()),
      backend: result.backend,
      guarantees: [],
      // A box that stays up is started without a network (start takes no --network yet).
      network: 'none',
      durationMs: result.durationMs,
    };
  }

  async function spawn(
    command: string | readonly string[],
    spawnOptions: LiveBoxSpawnOptions = {},
  ): Promise<LiveBoxProcess> {
    assertLive('spawn');
    const argv = toArgv(command);
    const child = await spawnInBox({
      box: boxId,
      store,
      hostEnv,
      command: argv,
      env: toEnvFlags(spawnOptions.env),
      workdir: spawnOptions.cwd,
      user: spawnOptions.user === undefined ? undefined : String(spawnOptions.user),
    });
    let collected = '';
    const collect = (chunk: Buffer): void => {
      collected += chunk.toString('utf8');
    };
    // Collected for waitForLog and output(); the streams flow from now on, so a caller who
    // attaches a listener later sees only what comes after (output() has it all).
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exit = child.exit.then(({ exitCode, signal }) => ({
      exitCode: toExitCode(exitCode, signal, false),
      signal,
    }));
    const handle: LiveBoxProcess = {
      command: argv,
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      exit,
      output: () => collected,
      stop: async (graceMs = 3_000) => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        try {
          await exit;
        } finally {
          clearTimeout(timer);
        }
      },
      [Symbol.asyncDispose]: () => handle.stop(),
    };
    processes.add(handle);
    void exit.finally(() => processes.delete(handle));
    return handle;
  }

  async function waitForPort(port: number, waitOptions: WaitOptions = {}): Promise<void> {
    assertLive('waitForPort');
    // The holder's view of /proc/net is the box's own network namespace: no tool of the
    // image is needed to look.
    await waitUntil(
      `box ${boxId}: port ${port}`,
      async () => {
        const tables = await Promise.all(
          ['tcp', 'tcp6'].map((name) =>
            readFile(`/proc/${started.holderPid}/net/${name}`, 'utf8').catch(() => ''),
          ),
        );
        return tables.some((table) => isListeningIn(table, port));
      },
      waitOptions,
    );
  }

  async function waitForLog(pattern: RegExp, waitOptions: WaitOptions = {}): Promise<void> {
    assertLive('waitForLog');
    await waitUntil(
      `box ${boxId}: output matching ${pattern}`,
      async () => {
        for (const each of processes) if (pattern.test(each.output())) return true;
        return pattern.test(await readBoxLog({ box: boxId, store, hostEnv }));
      },
      waitOptions,
    );
  }

  async function waitForCommand(
    command: string | readonly string[],
    waitOptions: WaitOptions = {},
  ): Promise<void> {
    assertLive('waitForCommand');
    await waitUntil(
      `box ${boxId}: ${toArgv(command).join(' ')}`,
      async () => (await exec(command)).exitCode === 0,
      waitOptions,
    );
  }

  async function dispose(): Promise<void> {
    disposed ??= (async () => {
      // Stopping the box ends every process in it, spawned ones included (their helpers exit).
      await stopBox({ box: boxId, store, hostEnv }).catch(() => {});
      await Promise.allSettled([...processes].map((each) => each.stop(1_000)));
    })();
    return disposed;
  }

  return {
    id: boxId,
    backend: started.backend,
    exec,
    spawn,
    waitForPort,
    waitForLog,
    waitForCommand,
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

function toArgv(command: string | readonly string[]): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}

function toEnvFlags(env: BoxExecOptions['env']): string[] | undefined {
  if (env === undefined) return undefined;
  const flags = Array.isArray(env)
    ? [...(env as readonly string[])]
    : Object.entries(env as Record<string, string>).map(([key, value]) => `${key}=${value}`);
  for (const flag of flags) {
    if (!flag.includes('=')) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `box env ${JSON.stringify(flag)}: give KEY=VALUE; the host environment is never copied into a box`,
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
