import {
  type CloneOptions,
  canRunOverlayHere as canRunOverlayHereWith,
  clone as cloneWith,
  type EntryMetadata,
  type ExecOptions,
  type ExecRestOptions,
  type ExecResult,
  exec as execWith,
  type OverlayCheckOptions,
} from '@polythene/core';
import { readExecArguments } from '@polythene/core/internal/exec/read-exec-arguments';
import { cliBackends } from './engine.ts';

// The `polythene` package's API is @polythene/core's with the built-in backends as the
// default: a caller who passes `backends` gets exactly those.

/** `@polythene/core`'s `exec`, with the built-in backends unless `backends` is given. */
export function exec(options: ExecOptions): Promise<ExecResult>;
/** The same, with the entry and the command first: `exec('debian', ['echo', 'hi'])`. */
export function exec(
  idOrName: string,
  command: readonly string[],
  options?: ExecRestOptions,
): Promise<ExecResult>;
export async function exec(
  first: ExecOptions | string,
  command?: readonly string[],
  rest?: ExecRestOptions,
): Promise<ExecResult> {
  return execWith({ ...cliBackends(), ...definedOnly(readExecArguments(first, command, rest)) });
}

/** `@polythene/core`'s `clone`, with the built-in backends unless `backends` is given. */
export function clone(ref: string, options: CloneOptions = {}): Promise<EntryMetadata> {
  return cloneWith(ref, { ...cliBackends(), ...definedOnly(options) });
}

/** `@polythene/core`'s `canRunOverlayHere`, with the built-in backends unless given. */
export function canRunOverlayHere(
  hostEnv: Readonly<Record<string, string | undefined>> = process.env,
  backendModules?: readonly string[],
): Promise<boolean> {
  const options: OverlayCheckOptions = { ...cliBackends(), hostEnv };
  return canRunOverlayHereWith(
    backendModules === undefined ? options : { ...options, backendModules },
  );
}

// `{ backends: undefined }` means "not given", not "none".
function definedOnly<T extends object>(options: T): T {
  if (options === null || typeof options !== 'object') return options;
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as T;
}
