import { PolytheneError } from '@polythene/errors';
import type { BackendSource } from './exec/backend-source.ts';
import type { StoreOptions } from './store-options.ts';

// The public functions check what JavaScript callers (and agents guessing at the API) pass
// them: a wrong shape is one `POLYTHENE_USAGE` naming the function's right form, never a
// `TypeError` from deep inside or a confusing error about something else.

/** A public function as its usage errors name it: `pull` and `pull({ image, ...options })`. */
export interface ApiForm {
  /** The function's name, the message's prefix. */
  readonly name: string;
  /** How to call it, shown after "call". */
  readonly form: string;
}

/** What an option's value must be: its description for the message, and the test. */
export interface OptionKind {
  /** For the message: `options.store must be ${expected}`. */
  readonly expected: string;
  readonly test: (value: unknown) => boolean;
}

/** Every option a function accepts, and what each must be. */
export type OptionKinds = Readonly<Record<string, OptionKind>>;

/** Throws the usage error: `name: why; call form`. */
export function failUsage(api: ApiForm, why: string): never {
  throw new PolytheneError('POLYTHENE_USAGE', `${api.name}: ${why}; call ${api.form}`);
}

/** A value as a usage message shows it: `'abc'`, `42`, `an array`, `null`, `object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value).replace(/^"|"$/g, "'");
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

/** True for a plain options object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a positional argument that must be a string (an id, a name, a path). What the string
 * may hold is the domain check's to say (an empty id is `POLYTHENE_INVALID_ID`, as from the CLI).
 */
export function assertStringArgument(
  api: ApiForm,
  value: unknown,
  what: string,
): asserts value is string {
  if (typeof value !== 'string') {
    failUsage(api, `${what} must be a string (got ${describeValue(value)})`);
  }
}

/**
 * Checks an options object: absent, or an object whose keys are all known and whose values
 * have the right type. `undefined` values count as absent (callers spread optional flags).
 */
export function assertOptions(
  api: ApiForm,
  options: unknown,
  kinds: OptionKinds,
  isRequired = false,
): asserts options is Record<string, unknown> | undefined {
  if (options === undefined && !isRequired) return;
  if (!isObject(options)) {
    failUsage(api, `the options must be an object (got ${describeValue(options)})`);
  }
  for (const [key, value] of Object.entries(options)) {
    const kind = Object.hasOwn(kinds, key) ? kinds[key] : undefined;
    if (kind === undefined) {
      failUsage(
        api,
        `unknown option ${JSON.stringify(key)} (known: ${Object.keys(kinds).join(', ')})`,
      );
    }
    if (value !== undefined && !kind.test(value)) {
      failUsage(api, `options.${key} must be ${kind.expected} (got ${describeValue(value)})`);
    }
  }
}

const isString = (value: unknown): boolean => typeof value === 'string';
const isStringArray = (value: unknown): boolean =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The names of the kinds options come in. */
export type KindName =
  | 'string'
  | 'boolean'
  | 'number'
  | 'numberOrString'
  | 'function'
  | 'object'
  | 'stringArray'
  | 'stringOrObjectArray'
  | 'env'
  | 'backends'
  | 'abortSignal'
  | 'logger';

/** The kinds options come in. */
export const kinds: Readonly<Record<KindName, OptionKind>> = {
  string: { expected: 'a string', test: isString },
  boolean: { expected: 'a boolean', test: (value) => typeof value === 'boolean' },
  number: {
    expected: 'a non-negative number',
    test: (value) => typeof value === 'number' && !Number.isNaN(value) && value >= 0,
  },
  numberOrString: {
    expected: 'a number or a string',
    test: (value) => typeof value === 'number' || typeof value === 'string',
  },
  function: { expected: 'a function', test: (value) => typeof value === 'function' },
  object: { expected: 'an object', test: isObject },
  stringArray: { expected: 'an array of strings', test: isStringArray },
  stringOrObjectArray: {
    expected: 'an array of strings or objects',
    test: (value) =>
      Array.isArray(value) && value.every((item) => typeof item === 'string' || isObject(item)),
  },
  env: { expected: 'an object of variables, such as process.env', test: isObject },
  backends: {
    expected: 'an array of Backend objects, e.g. [createProotBackend()]',
    test: (value) => Array.isArray(value) && value.every(isObject),
  },
  abortSignal: {
    expected: 'an AbortSignal',
    test: (value) =>
      isObject(value) &&
      typeof value.aborted === 'boolean' &&
      typeof value.addEventListener === 'function',
  },
  logger: {
    expected: 'a Logger (see createLogger)',
    test: (value) =>
      isObject(value) && typeof value.verbose === 'function' && typeof value.warn === 'function',
  },
};

/** One of a few strings. */
export function oneOf(values: readonly string[]): OptionKind {
  return {
    expected: `one of ${values.map((value) => `'${value}'`).join(', ')}`,
    test: (value) => typeof value === 'string' && values.includes(value),
  };
}

/** The options of every store-touching call (see `StoreOptions`). */
export const STORE_OPTION_KINDS: Readonly<Record<keyof StoreOptions, OptionKind>> = {
  store: kinds.string,
  hostEnv: kinds.env,
};

/** The options of every call that may run a backend (see `BackendSource`). */
export const BACKEND_SOURCE_KINDS: Readonly<Record<keyof BackendSource, OptionKind>> = {
  backends: kinds.backends,
  importModule: kinds.function,
};
