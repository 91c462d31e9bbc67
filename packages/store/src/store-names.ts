import { isEntryId, isEntryName } from './entry-id.ts';

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

/** `<uuid>.manifest`: the gzipped manifest of a `directory` entry, the baseline of its diff. */
export function manifestName(id: string): string {
  return `${id}.manifest`;
}

/** `.tmp-<uuid>.<pid>.manifest`: a pending entry's manifest before it is renamed into place. */
export function pendingManifestName(id: string, pid: number): string {
  return `${pendingName(id, pid)}.manifest`;
}

/** `.work-<uuid>`: the overlayfs work directory of overlay entry `<uuid>` (same filesystem as its upper). */
export function workName(id: string): string {
  return `.work-${id}`;
}

/** `.scratch-<uuid>.<pid>`: a throwaway layer or copy used by process `pid`. */
export function scratchName(id: string, pid: number): string {
  return `.scratch-${id}.${pid}`;
}

/** `.trash-<uuid>.<pid>`: an entry's rootfs being deleted by process `pid`. */
export function trashName(id: string, pid: number): string {
  return `.trash-${id}.${pid}`;
}

/**
 * `.base-<uuid>`: marks entry `<uuid>` as a lower layer of some overlay clone (made before the
 * clone's metadata, removed with the entry), so `dependentsOf` can answer "no clones" without
 * reading every entry's metadata.
 */
export function baseMarkerName(id: string): string {
  return `.base-${id}`;
}

/** A temporary name parsed back: what kind, for which entry, owned by which process. */
export interface TemporaryName {
  kind: 'tmp' | 'trash' | 'scratch';
  id: string;
  pid: number;
  /** True for a `.json` or `.manifest` file beside a pending entry. */
  isMetadata: boolean;
}

const TEMPORARY_PATTERN = /^\.(tmp|trash|scratch)-([0-9a-f-]{36})\.(\d{1,10})(\.json|\.manifest)?$/;

/** Parses a `.tmp-…`/`.trash-…`/`.scratch-…` name; undefined for anything else. */
export function parseTemporaryName(name: string): TemporaryName | undefined {
  const match = TEMPORARY_PATTERN.exec(name);
  if (match === null) return undefined;
  const [, kind, id, pid, json] = match;
  if (id === undefined || !isEntryId(id)) return undefined;
  return {
    kind: kind === 'tmp' ? 'tmp' : kind === 'trash' ? 'trash' : 'scratch',
    id,
    pid: Number(pid),
    isMetadata: json !== undefined,
  };
}

/** What part of an entry a store name holds. */
export type EntryPart = 'rootfs' | 'metadata' | 'manifest' | 'work' | 'base-marker';

/**
 * Parses `<uuid>`, `<uuid>.json`, `<uuid>.manifest`, `.work-<uuid>`, `.base-<uuid>` or a
 * hand-made entry's `<name>` (see isEntryName); undefined for anything else.
 */
export function parseEntryName(name: string): { id: string; part: EntryPart } | undefined {
  if (isEntryId(name)) return { id: name, part: 'rootfs' };
  if (name.endsWith('.json') && isEntryId(name.slice(0, -5)))
    return { id: name.slice(0, -5), part: 'metadata' };
  if (name.endsWith('.manifest') && isEntryId(name.slice(0, -9)))
    return { id: name.slice(0, -9), part: 'manifest' };
  if (name.startsWith('.work-') && isEntryId(name.slice(6)))
    return { id: name.slice(6), part: 'work' };
  if (name.startsWith('.base-') && isEntryId(name.slice(6)))
    return { id: name.slice(6), part: 'base-marker' };
  // A hand-made entry: a directory named by the name rule, without metadata of its own.
  if (isEntryName(name)) return { id: name, part: 'rootfs' };
  return undefined;
}
