import { PolytheneError } from '@polythene/errors';

const MAX_SHOWN_CHARS = 64;

// RFC 9562 method 1: a 12-bit counter in rand_a keeps ids created by one process in the
// same millisecond in creation order; it starts from a random value below 2048 so that
// a burst still has room before it must borrow the next millisecond.
let lastMs = -1;
let counter = 0;

// Web Crypto's generator, not `node:crypto`: that module costs milliseconds to load, and
// every `polythene exec` would pay for it without ever creating an id.
function randomBytes(count: number): Buffer {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(count)));
}

/**
 * Creates a new store entry id: a UUID version 7 (48-bit Unix milliseconds, then random
 * bits), so ids sort by creation time. Ids made by one process are strictly increasing.
 */
export function newEntryId(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff;
  } else {
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      counter = 0;
    }
    ms = lastMs;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * True when `value` is a canonical lowercase UUID (any version): the only strings the
 * store accepts as entry ids, so an id can never name a path outside the store.
 */
export function isEntryId(value: string): boolean {
  // 8-4-4-4-12 lowercase hex digits. A loop rather than a regular expression, whose
  // compilation would cost every exec more than the check itself.
  if (value.length !== 36) return false;
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index] as string;
    const isDashPosition = index === 8 || index === 13 || index === 18 || index === 23;
    const isValid = isDashPosition
      ? char === '-'
      : (char >= '0' && char <= '9') || (char >= 'a' && char <= 'f');
    if (!isValid) return false;
  }
  return true;
}

/**
 * True when `value` names a hand-made entry: a directory put into the store by hand or by
 * scripts around the Python tool. The name rule: 1–64 ASCII letters, digits, `.`, `_` and
 * `-`, starting with a letter or digit, and not UUID-shaped (so a mistyped UUID is an error,
 * not a name). The store's own `.tmp-…`, `.work-…` names start with a dot and never qualify;
 * a name holds no `/` and is never `.` or `..`, so it cannot leave the store either.
 */
export function isEntryName(value: string): boolean {
  if (value.length === 0 || value.length > 64 || isUuidShaped(value)) return false;
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index] as string;
    const isAlnum =
      (char >= '0' && char <= '9') || (char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z');
    if (!isAlnum && (index === 0 || (char !== '.' && char !== '_' && char !== '-'))) return false;
  }
  return true;
}

/** True for an entry id (a UUID) or a hand-made entry's name: what the store accepts. */
export function isEntryRef(value: string): boolean {
  return isEntryId(value) || isEntryName(value);
}

// 8-4-4-4-12 with dashes in place (whatever the other characters), or 32 or more hex digits
// and dashes: a UUID, maybe mistyped or in upper case.
function isUuidShaped(value: string): boolean {
  if (value.length === 36 && [8, 13, 18, 23].every((index) => value[index] === '-')) return true;
  return value.length >= 32 && /^[0-9a-fA-F-]+$/.test(value);
}

/**
 * Returns `value` when it is a valid entry id or name; otherwise throws `POLYTHENE_INVALID_ID`
 * naming the value (escaped and truncated so it is safe to print).
 */
export function assertEntryId(value: string): string {
  if (typeof value === 'string' && isEntryRef(value)) return value;
  throw new PolytheneError(
    'POLYTHENE_INVALID_ID',
    `invalid store entry id ${formatUntrusted(String(value))}: expected a lowercase UUID as printed by \`polythene pull\` or a hand-made entry's name (see \`polythene list\`)`,
  );
}

/** Quotes an untrusted string for a one-line message: control and non-ASCII characters escaped, long values cut. */
export function formatUntrusted(value: string): string {
  const chars = [...value];
  const shown = chars.slice(0, MAX_SHOWN_CHARS).map(escapeChar).join('');
  return `"${shown}"${chars.length > MAX_SHOWN_CHARS ? `… (${chars.length} characters)` : ''}`;
}

function escapeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (char === '"' || char === '\\') return `\\${char}`;
  if (code >= 0x20 && code < 0x7f) return char;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return `\\u{${code.toString(16)}}`;
}
