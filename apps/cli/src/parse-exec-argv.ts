import type { RawOptions } from './normalize-options.ts';

/** `polythene exec`'s arguments, as cac hands them to the command's action. */
export interface ParsedExecArgv {
  readonly uuid: string;
  /** Words after the uuid and before `--`. */
  readonly positional: string[];
  /** Options under cac's camelCase names, and the words after `--` under `'--'`. */
  readonly options: RawOptions;
}

/**
 * Parses the arguments after `exec` exactly as cac (through mri) would, for the forms exec is
 * called with: words, `--` and everything after it, and the long options in `flags` (cac's
 * `--name`, `--name <value>` or `--name [value]`, each maybe with a short form `-n, `) as
 * `--name value`, `--name=value` or `-n value`.
 * Anything else (help, version, short, negated or unknown options, a missing value, a flag
 * followed by a word mri would take apart) gives undefined, and cac parses and reports it.
 *
 * Why: cac sets up and parses exec's options in about 0.8 ms, every call (its first,
 * interpreted run, and a dozen regular expressions compiled twice each); this takes a few
 * hundredths of that. A test checks that both agree on every form this accepts.
 */
export function parseExecArgv(
  argv: readonly string[],
  flags: readonly string[],
): ParsedExecArgv | undefined {
  const kinds = new Map<string, ExecOptionKind>();
  const shortKinds = new Map<string, ExecOptionKind>();
  for (const flag of flags) {
    // `--name <value>`, or with a short form `-n, --name <value>`.
    const [first = '', second = '', third = ''] = flag.split(' ');
    const hasShort = first.endsWith(',');
    const name = hasShort ? second : first;
    const placeholder = hasShort ? third : second;
    const kind = placeholder.startsWith('<')
      ? 'value'
      : placeholder.startsWith('[')
        ? 'optional'
        : 'boolean';
    const short = hasShort ? first.slice(1, -1) : undefined;
    const option = { key: camelCase(name.slice(2)), kind, short } as const;
    kinds.set(name.slice(2), option);
    if (short !== undefined) shortKinds.set(short, option);
  }

  // cac takes `--` and what follows out before mri sees the rest.
  const dashes = argv.indexOf('--');
  const words = dashes === -1 ? argv : argv.slice(0, dashes);
  const options: Record<string, unknown> = { '--': dashes === -1 ? [] : argv.slice(dashes + 1) };
  const positional: string[] = [];
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index] as string;
    if (!word.startsWith('-')) {
      positional.push(word);
      continue;
    }
    // A short option only as `-x VALUE`; cac takes `-xVALUE`, `-x=VALUE` and bundles.
    const isShort = !word.startsWith('--');
    const equals = isShort ? -1 : word.indexOf('=');
    const option = isShort
      ? word.length === 2
        ? shortKinds.get(word.slice(1))
        : undefined
      : kinds.get(equals === -1 ? word.slice(2) : word.slice(2, equals));
    if (option === undefined) return undefined;
    const next = words[index + 1];
    const hasNextValue = next !== undefined && !next.startsWith('-');
    let value: unknown;
    if (equals !== -1) {
      value = word.slice(equals + 1);
      // mri reads `--name=` as `--name` followed by the next word.
      if (value === '' || option.kind === 'boolean') return undefined;
    } else if (option.kind === 'boolean') {
      // mri would take the next word as the flag's value and hand it back as a positional.
      if (hasNextValue) return undefined;
      value = true;
    } else if (hasNextValue) {
      value = next;
      index += 1;
    } else if (option.kind === 'value') {
      return undefined; // cac reports the missing value
    } else {
      value = true;
    }
    const previous = options[option.key];
    const coerced = coerceLikeMri(value);
    options[option.key] =
      previous === undefined
        ? coerced
        : Array.isArray(previous)
          ? [...previous, coerced]
          : [previous, coerced];
    // cac sets an aliased option under both names; both spellings add to one list (see
    // spellOutShortOptions, which makes cac do the same).
    if (option.short !== undefined) options[option.short] = options[option.key];
  }
  const [uuid, ...rest] = positional;
  return uuid === undefined ? undefined : { uuid, positional: rest, options };
}

// mri turns every value that reads as a number into one (`+value` and a finite result).
function coerceLikeMri(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const number = +value;
  return number * 0 === 0 ? number : value;
}

interface ExecOptionKind {
  readonly key: string;
  readonly kind: 'value' | 'optional' | 'boolean';
  readonly short: string | undefined;
}

function camelCase(name: string): string {
  return name
    .split('-')
    .map((part, index) => (index === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('');
}
