import {
  type ApiForm,
  assertOptions,
  BACKEND_SOURCE_KINDS,
  describeValue,
  failUsage,
  isObject,
  kinds,
  type OptionKind,
  oneOf,
  STORE_OPTION_KINDS,
} from '../check-arguments.ts';
import type { ExecOptions } from './exec-options.ts';

/** The options of the `exec(idOrName, command, options)` form: all but `id` and `command`. */
export type ExecRestOptions = Omit<ExecOptions, 'id' | 'command'>;

const EXEC: ApiForm = {
  name: 'exec',
  form: "exec({ id, command: ['echo', 'hi'] }) or exec(idOrName, ['echo', 'hi'], options)",
};

// Every option of the third argument: a typed Record, so a new option needs its kind here.
const REST_OPTION_KINDS: Readonly<Record<keyof ExecRestOptions, OptionKind>> = {
  ...STORE_OPTION_KINDS,
  ...BACKEND_SOURCE_KINDS,
  memory: kinds.numberOrString,
  cpus: kinds.numberOrString,
  pidsLimit: kinds.numberOrString,
  isolation: kinds.string,
  backendModules: kinds.stringArray,
  env: kinds.stringArray,
  workdir: kinds.string,
  user: kinds.string,
  binds: kinds.stringOrObjectArray,
  workspace: {
    expected: 'a directory or true',
    test: (value) => typeof value === 'string' || value === true,
  },
  timeoutMs: kinds.number,
  stdio: oneOf(['inherit', 'pipe']),
  input: {
    expected: 'a string or a Uint8Array',
    test: (value) => typeof value === 'string' || value instanceof Uint8Array,
  },
  maxOutputBytes: kinds.number,
  tty: kinds.boolean,
  interactive: kinds.boolean,
  strict: kinds.boolean,
  capAdd: kinds.stringArray,
  capDrop: kinds.stringArray,
  forwardSignals: kinds.boolean,
  abortSignal: kinds.abortSignal,
  runCgroup: {
    expected: 'a run cgroup from startRunCgroup',
    test: (value) => isObject(value) && typeof value.enterEarly === 'function',
  },
  killGraceMs: kinds.number,
  cwd: kinds.string,
  logger: kinds.logger,
  ephemeral: kinds.boolean,
  root: kinds.object,
  layers: kinds.object,
  rootfs: kinds.string,
  network: kinds.string,
  publish: kinds.stringOrObjectArray,
  helpers: kinds.boolean,
  onBackendChosen: kinds.function,
};

const OPTION_KINDS: Readonly<Record<keyof ExecOptions, OptionKind>> = {
  ...REST_OPTION_KINDS,
  id: kinds.string,
  command: kinds.stringArray,
};

/**
 * The options of either form of `exec`, checked: a wrong shape (a command that is not an
 * argv, an unknown option, an option of the wrong type) is a `POLYTHENE_USAGE` naming both
 * forms, not a `TypeError` from deep inside.
 */
export function readExecArguments(first: unknown, command: unknown, rest: unknown): ExecOptions {
  if (typeof first === 'string') {
    if (command === undefined) failUsage(EXEC, `exec('${first}') has no command`);
    if (rest !== undefined && !isObject(rest)) {
      failUsage(EXEC, 'its third argument, the options, must be an object');
    }
    assertCommand(command);
    assertOptions(EXEC, rest, REST_OPTION_KINDS);
    return { ...(rest as ExecRestOptions | undefined), id: first, command };
  }
  if (!isObject(first)) {
    failUsage(
      EXEC,
      `its first argument must be an entry's id or name, or an options object (got ${describeValue(first)})`,
    );
  }
  if (command !== undefined) failUsage(EXEC, 'with an options object, pass nothing after it');
  if (typeof first.id !== 'string' || first.id === '') {
    failUsage(EXEC, `options.id must be an entry's id or name (got ${describeValue(first.id)})`);
  }
  assertCommand(first.command);
  assertOptions(EXEC, first, OPTION_KINDS);
  return first as unknown as ExecOptions;
}

function assertCommand(command: unknown): asserts command is readonly string[] {
  if (!Array.isArray(command) || command.some((part) => typeof part !== 'string')) {
    failUsage(EXEC, `the command must be an array of strings (got ${describeValue(command)})`);
  }
}
