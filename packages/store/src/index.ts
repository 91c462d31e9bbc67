export { checkStorePermissions } from './check-store-permissions.ts';
export { assertEntryId, isEntryId, newEntryId } from './entry-id.ts';
export type {
  EntryMetadata,
  EntryMetadataInput,
  EntryOrigin,
  ImageConfig,
} from './entry-metadata.ts';
export type { TreeMeasurement } from './measure-tree.ts';
export { measureTree } from './measure-tree.ts';
export type {
  OpenStoreOptions,
  PruneOptions,
  PruneReport,
  Store,
  StoreEntry,
} from './open-store.ts';
export { openStore } from './open-store.ts';
export { parseDuration } from './parse-duration.ts';
export type { PendingEntry } from './pending-entry.ts';
export { removeTree } from './remove-tree.ts';
export type { ResolveInRootfsOptions } from './resolve-in-rootfs.ts';
export { resolveInRootfs } from './resolve-in-rootfs.ts';
export type { ResolveStoreDirOptions } from './store-dir.ts';
export { DEFAULT_STORE_DIR, resolveStoreDir } from './store-dir.ts';
