import { isEntryId } from './entry-id.ts';

// Names inside the store directory. Everything the store creates that is not a committed
// entry starts with a dot, so `find <store> -maxdepth 1 -type d -name '????????-*'` style
// clean-ups by users and `ls` only ever show whole entries.

/** `<uuid>.json`: an entry's metadata, beside its rootfs. */
export function metadataName(id: string): string {
  return `${id}.json`;
}

/** `.tmp-<uuid>.<pid>`: a pending entry's rootfs being filled by process `pid`. */
export function pendingName(id: string, pid: number): string {
  return `.tmp-${id}.${pid}`;
}

/** `.tmp-<uuid>.<pid>.json`: a pending entry's metadata before it is renamed into place. */
export function pendingMetadataName(id: string, pid: number): string {
  return `${pendingName(id, pid)}.json`;
}

/** `.trash-<uuid>.<pid>`: an entry's rootfs being deleted by process `pid`. */
export function trashName(id: string, pid: number): string {
  return `.trash-${id}.${pid}`;
}

/** A temporary name parsed back: what kind, for which entry, owned by which process. */
export interface TemporaryName {
  kind: 'tmp' | 'trash';
  id: string;
  pid: number;
  isMetadata: boolean;
}

const TEMPORARY_PATTERN = /^\.(tmp|trash)-([0-9a-f-]{36})\.(\d{1,10})(\.json)?$/;

/** Parses a `.tmp-…`/`.trash-…` name; undefined for anything else. */
export function parseTemporaryName(name: string): TemporaryName | undefined {
  const match = TEMPORARY_PATTERN.exec(name);
  if (match === null) return undefined;
  const [, kind, id, pid, json] = match;
  if (id === undefined || !isEntryId(id)) return undefined;
  return {
    kind: kind === 'tmp' ? 'tmp' : 'trash',
    id,
    pid: Number(pid),
    isMetadata: json !== undefined,
  };
}

/** Parses `<uuid>` or `<uuid>.json`; undefined for anything else. */
export function parseEntryName(name: string): { id: string; isMetadata: boolean } | undefined {
  if (isEntryId(name)) return { id: name, isMetadata: false };
  if (name.endsWith('.json') && isEntryId(name.slice(0, -5)))
    return { id: name.slice(0, -5), isMetadata: true };
  return undefined;
}
