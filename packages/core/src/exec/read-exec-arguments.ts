import { PolytheneError } from '@polythene/errors';
import type { ExecOptions } from './exec.ts';

/** The options of the `exec(idOrName, command, options)` form: all but `id` and `command`. */
export type ExecRestOptions = Omit<ExecOptions, 'id' | 'command'>;

const FORMS = "exec({ id, command: ['echo', 'hi'] }) or exec(idOrName, ['echo', 'hi'], options)";

/**
 * The options of either form of `exec`, checked: a wrong shape is a `POLYTHENE_USAGE` naming
 * both forms, not a `TypeError` from deep inside.
 */
export function readExecArguments(first: unknown, command: unknown, rest: unknown): ExecOptions {
  if (typeof first === 'string') {
    if (command === undefined) fail(`exec('${first}') has no command`);
    if (rest !== undefined && (typeof rest !== 'object' || rest === null || Array.isArray(rest))) {
      fail('its third argument, the options, must be an object');
    }
    assertCommand(command);
    return { ...(rest as ExecRestOptions | undefined), id: first, command };
  }
  if (typeof first !== 'object' || first === null || Array.isArray(first)) {
    fail(
      `its first argument must be an entry's id or name, or an options object (got ${describe(first)})`,
    );
  }
  if (command !== undefined) fail('with an options object, pass nothing after it');
  const options = first as Partial<ExecOptions>;
  if (typeof options.id !== 'string' || options.id === '') {
    fail(`options.id must be an entry's id or name (got ${describe(options.id)})`);
  }
  assertCommand(options.command);
  return options as ExecOptions;
}

function assertCommand(command: unknown): asserts command is readonly string[] {
  if (!Array.isArray(command) || command.some((part) => typeof part !== 'string')) {
    fail(`the command must be an array of strings (got ${describe(command)})`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value}'`;
  return typeof value;
}

function fail(why: string): never {
  throw new PolytheneError('POLYTHENE_USAGE', `exec: ${why}; call ${FORMS}`);
}
