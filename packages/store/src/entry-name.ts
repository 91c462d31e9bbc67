import { PolytheneError } from '@polythene/errors';
import { formatUntrusted, isEntryName, isEntryRef } from './entry-id.ts';

/**
 * The rule every entry name follows (given by `--name` or a hand-made directory), as users
 * read it in error messages and the guide; `isEntryName` checks it. The first character
 * excludes the store's own `.tmp-…`/`.scratch-…`/`.trash-…` names and anything a shell tool
 * would take for an option (`-rf`).
 */
export const ENTRY_NAME_RULE =
  'a name is 1 to 64 letters, digits, ".", "_" or "-", starts with a letter or a digit, and is not shaped like a UUID';

/** Returns `value` when it is a valid name; otherwise throws `POLYTHENE_USAGE` stating the rule. */
export function assertEntryName(value: string): string {
  if (typeof value === 'string' && isEntryName(value)) return value;
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
  if (typeof ref === 'string' && isEntryRef(ref)) return ref;
  throw new PolytheneError(
    'POLYTHENE_INVALID_ID',
    `invalid store entry id or name ${formatUntrusted(String(ref))}: expected a lowercase UUID as printed by \`polythene pull\`, or a name (${ENTRY_NAME_RULE}; see \`polythene list\`)`,
  );
}
