import { PolytheneError } from '@polythene/errors';

/**
 * What `list` keeps: an entry matches when, for every key given, one of that key's patterns
 * matches (podman's rule: different keys AND, repeats of one key OR). A pattern matches the
 * whole value; `*` stands for any run of characters. An entry without a name never matches
 * a `name` filter.
 */
export interface EntryFilters {
  /** Patterns for the entry's name. */
  readonly name?: readonly string[];
  /** Patterns for the image reference the entry was pulled from (as given to pull). */
  readonly image?: readonly string[];
}

const FILTER_KEYS = ['name', 'image'] as const;

/** Parses `KEY=PATTERN` strings (`--filter name=dev`); throws `POLYTHENE_USAGE` for anything else. */
export function parseEntryFilters(values: readonly string[]): EntryFilters {
  const filters: { name?: string[]; image?: string[] } = {};
  for (const value of values) {
    const equals = value.indexOf('=');
    const key = equals < 0 ? value : value.slice(0, equals);
    if (equals < 0 || !(FILTER_KEYS as readonly string[]).includes(key)) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `invalid filter ${JSON.stringify(value)}: expected name=PATTERN or image=PATTERN (* matches any characters)`,
      );
    }
    const filterKey = key as (typeof FILTER_KEYS)[number];
    filters[filterKey] = [...(filters[filterKey] ?? []), value.slice(equals + 1)];
  }
  return filters;
}

/** True when `pattern` (with `*` wildcards) matches all of `value`. */
export function matchesPattern(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let position = first.length;
  const end = value.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, position);
    if (found < 0 || found + middle.length > end) return false;
    position = found + middle.length;
  }
  return true;
}

/** True when an entry with this name and image passes every filter. */
export function matchesEntryFilters(
  filters: EntryFilters,
  entry: { readonly name?: string | undefined; readonly image?: string | undefined },
): boolean {
  for (const key of FILTER_KEYS) {
    const patterns = filters[key];
    if (patterns === undefined || patterns.length === 0) continue;
    const value = entry[key];
    if (value === undefined || !patterns.some((pattern) => matchesPattern(pattern, value)))
      return false;
  }
  return true;
}
