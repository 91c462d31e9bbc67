import { delimiter } from 'node:path';

/**
 * Splits a `POLYTHENE_BACKENDS` value into module specifiers (package names or paths).
 * Entries are separated by commas or by the platform's path delimiter (`:` on Linux), like
 * `PATH`; blanks are dropped and duplicates kept once, in first-seen order.
 */
export function parseBackendList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const specifiers: string[] = [];
  for (const part of value.split(new RegExp(`[,${escapeForCharClass(delimiter)}]`))) {
    const specifier = part.trim();
    if (specifier !== '' && !specifiers.includes(specifier)) specifiers.push(specifier);
  }
  return specifiers;
}

function escapeForCharClass(text: string): string {
  return text.replace(/[\\\]^-]/g, '\\$&');
}
