import { PolytheneError } from '@polythene/errors';

/**
 * cac hands over what mri parsed: a repeated flag becomes an array, a numeric-looking value a
 * number, a flag without a value `true`. These helpers normalise once, before a command sees
 * its options: repeated scalars take the last value, lists are always string arrays.
 */

/** The last value of a scalar flag, as a string; `undefined` when absent. */
export function lastString(value: unknown, flag: string): string | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value;
  if (last === undefined) return undefined;
  if (last === true || last === false) {
    throw new PolytheneError('POLYTHENE_USAGE', `${flag} needs a value`);
  }
  return String(last);
}

/** Every value of a repeatable flag, as strings. */
export function stringList(value: unknown, flag: string): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values.map((item) => {
    if (item === true || item === false)
      throw new PolytheneError('POLYTHENE_USAGE', `${flag} needs a value`);
    return String(item);
  });
}

/** A boolean flag; repeated, the last wins. */
export function lastBoolean(value: unknown): boolean {
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last === true || last === 'true';
}

/** `--timeout SECONDS` (decimals allowed) as milliseconds; absent → undefined. */
export function timeoutMsFromSeconds(value: unknown, flag = '--timeout'): number | undefined {
  const text = lastString(value, flag);
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(seconds) || seconds <= 0) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `${flag} ${text}: expected a positive number of seconds`,
    );
  }
  return Math.round(seconds * 1000);
}

/**
 * `--timeout`, else `POLYTHENE_TIMEOUT` (the Python tool's variable; empty counts as unset),
 * as milliseconds; neither → undefined. The flag wins.
 */
export function timeoutMsFromFlagOrEnv(
  value: unknown,
  env: NodeJS.ProcessEnv = process.env,
): number | undefined {
  if (value !== undefined) return timeoutMsFromSeconds(value);
  const fromEnv = env.POLYTHENE_TIMEOUT;
  return fromEnv === undefined || fromEnv === ''
    ? undefined
    : timeoutMsFromSeconds(fromEnv, 'POLYTHENE_TIMEOUT');
}

/** A positive whole number of bytes, with an optional K/M/G suffix (powers of 1024). */
export function byteCount(value: unknown, flag: string): number | undefined {
  const text = lastString(value, flag);
  if (text === undefined) return undefined;
  const match = /^(\d+)([KMG]i?B?)?$/i.exec(text.trim());
  if (!match)
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `${flag} ${text}: expected bytes, e.g. 65536 or 16M`,
    );
  const unit = (match[2] ?? '').charAt(0).toUpperCase();
  const scale = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Number(match[1]) * scale;
}

/** `--workspace [DIR]`: absent, bare (`true`: the current directory) or a directory. */
export function optionalPath(value: unknown): string | true | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value;
  if (last === undefined || last === false) return undefined;
  if (last === true || last === '') return true;
  return String(last);
}

/** One of a closed set of words, else a usage error listing them. */
export function oneOf<T extends string>(
  value: unknown,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  const text = lastString(value, flag);
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `${flag} ${text}: expected one of ${allowed.join(', ')}`,
    );
  }
  return text as T;
}

/** Options as cac parsed them, before normalisation. */
export type RawOptions = Record<string, unknown>;
