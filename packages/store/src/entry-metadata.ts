import type { ImageConfig } from '@polythene/host';
import { isEntryRef } from './entry-id.ts';

/** The image's runtime configuration, declared once in `@polythene/host`. */
export type { ImageConfig };

/** Where an entry came from. */
export type EntryOrigin =
  /** Exported from an image by `pull`. */
  | { kind: 'pull' }
  /** Copied from another entry. */
  | { kind: 'clone'; parentId: string };

/** What the store records about an entry, in `<store>/<id>.json`. */
export interface EntryMetadata {
  /** Format version of this record; bumped on incompatible changes. */
  schemaVersion: 1;
  /** The entry id (a UUID), also the rootfs directory's name. */
  id: string;
  /** When the entry was committed, as an ISO 8601 UTC timestamp. */
  createdAt: string;
  /** The image reference exactly as the user gave it. */
  image: string;
  /** How the entry was made. */
  origin: EntryOrigin;
  /** The image's manifest digest (`sha256:…`), when known. */
  digest?: string;
  /** The image's id in podman's storage, when known. */
  imageId?: string;
  /** The image's architecture (`amd64`, `arm64`, …), when known. */
  architecture?: string;
  /** The image's OS (`linux`), when known. */
  os?: string;
  /** When the image was built, as given by the image (ISO 8601), when known. */
  imageCreatedAt?: string;
  /** The image config exec applies. */
  config: ImageConfig;
  /** Apparent size of the rootfs in bytes, measured at commit. */
  sizeBytes: number;
  /** Number of non-directory entries in the rootfs, counted at commit. */
  fileCount: number;
  /**
   * How the entry is stored. `directory`: `<store>/<id>` is the whole rootfs, and
   * `<store>/<id>.manifest` records its state at commit (the baseline of `diff`). `overlay`: a
   * cheap clone; `<store>/<id>` is an overlayfs upper layer over the entries `lowerIds`, with
   * its work directory `<store>/.work-<id>`. Metadata written before layouts existed reads as
   * `directory`.
   */
  layout: EntryLayout;
  /**
   * For an `overlay` entry: the entries whose trees are its lower layers, top-most first (a
   * clone of directory entry P has `[P]`; a clone of overlay entry C over `[P]` has `[C, P]`).
   */
  lowerIds?: string[];
}

/** How an entry's rootfs is stored; see {@link EntryMetadata.layout}. */
export type EntryLayout = 'directory' | 'overlay';

/** The fields a caller supplies when committing a pending entry; the store fills in the rest. */
export type EntryMetadataInput = Omit<
  EntryMetadata,
  'schemaVersion' | 'id' | 'createdAt' | 'sizeBytes' | 'fileCount' | 'layout' | 'lowerIds'
>;

/**
 * Checks a parsed metadata file for entry `id`. Returns the metadata, or a reason it is not
 * usable (so a damaged file shows up in `list` instead of crashing it).
 */
export function parseEntryMetadata(
  value: unknown,
  id: string,
): EntryMetadata | { invalid: string } {
  if (!isRecord(value)) return { invalid: 'not a JSON object' };
  if (value.schemaVersion !== 1)
    return { invalid: `unsupported schemaVersion ${JSON.stringify(value.schemaVersion)}` };
  if (value.id !== id) return { invalid: 'id does not match the file name' };
  if (typeof value.createdAt !== 'string' || Number.isNaN(Date.parse(value.createdAt))) {
    return { invalid: 'createdAt is not a timestamp' };
  }
  if (typeof value.image !== 'string') return { invalid: 'image is not a string' };
  if (!isRecord(value.origin) || (value.origin.kind !== 'pull' && value.origin.kind !== 'clone')) {
    return { invalid: 'origin is malformed' };
  }
  if (!isRecord(value.config) || !isStringArray(value.config.env))
    return { invalid: 'config.env is not a list of strings' };
  for (const key of ['entrypoint', 'cmd'] as const) {
    if (value.config[key] !== undefined && !isStringArray(value.config[key]))
      return { invalid: `config.${key} is malformed` };
  }
  for (const key of ['workingDir', 'user'] as const) {
    if (value.config[key] !== undefined && typeof value.config[key] !== 'string')
      return { invalid: `config.${key} is malformed` };
  }
  if (typeof value.sizeBytes !== 'number' || typeof value.fileCount !== 'number') {
    return { invalid: 'sizeBytes or fileCount is not a number' };
  }
  const layout = value.layout ?? 'directory';
  if (layout !== 'directory' && layout !== 'overlay')
    return { invalid: `unknown layout ${JSON.stringify(layout)}` };
  if (layout === 'overlay') {
    const lowerIds = value.lowerIds;
    if (!isStringArray(lowerIds) || lowerIds.length === 0 || !lowerIds.every(isEntryRef))
      return { invalid: 'an overlay entry needs lowerIds, a non-empty list of entry ids' };
    if (lowerIds.includes(id)) return { invalid: 'an overlay entry cannot be its own lower' };
  }
  return { ...(value as unknown as EntryMetadata), layout };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
