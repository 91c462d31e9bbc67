import { PolytheneError } from '@polythene/errors';
import { formatUntrusted, isEntryId } from './entry-id.ts';

/**
 * The rule every entry name follows, as users read it in error messages and the guide.
 * The first character excludes the store's own `.tmp-…`/`.scratch-…`/`.trash-…` names and
 * anything a shell tool would take for an option (`-rf`).
 */
export const ENTRY_NAME_RULE =
  'a name is 1 to 64 letters, digits, ".", "_" or "-", starts with a letter or a digit, and is not shaped like a UUID';

const MAX_NAME_CHARS = 64;

function isNameChar(char: string, isFirst: boolean): boolean {
  const isAlnum =
    (char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z') || (char >= '0' && char <= '9');
  return isAlnum || (!isFirst && (char === '.' || char === '_' || char === '-'));
}

/** True when `value` is shaped like a UUID in any letter case (8-4-4-4-12 hex digits). */
function isUuidShaped(value: string): boolean {
  return isEntryId(value.toLowerCase());
}

/** True when `value` follows {@link ENTRY_NAME_RULE}. */
export function isEntryName(value: string): boolean {
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_NAME_CHARS) return false;
  for (let index = 0; index < value.length; index += 1) {
    if (!isNameChar(value[index] as string, index === 0)) return false;
  }
  return !isUuidShaped(value);
}

/** Returns `value` when it is a valid name; otherwise throws `POLYTHENE_USAGE` stating the rule. */
export function assertEntryName(value: string): string {
  if (isEntryName(value)) return value;
  throw new PolytheneError(
    'POLYTHENE_USAGE',
    `invalid entry name ${formatUntrusted(String(value))}: ${ENTRY_NAME_RULE}`,
  );
}

/**
 * Returns `ref` when it is an entry id or a valid name (what every command taking an entry
 * accepts); otherwise throws `POLYTHENE_INVALID_ID` naming both forms.
 */
export function assertEntryRef(ref: string): string {
  if (typeof ref === 'string' && (isEntryId(ref) || isEntryName(ref))) return ref;
  throw new PolytheneError(
    'POLYTHENE_INVALID_ID',
    `invalid store entry id or name ${formatUntrusted(String(ref))}: expected a lowercase UUID as printed by \`polythene pull\`, or a name (${ENTRY_NAME_RULE}; see \`polythene list\`)`,
  );
}
