export { readProcessStartTime } from '@polythene/host';
export { assertStoreOwned } from './assert-store-owned.ts';
export { checkStorePermissions } from './check-store-permissions.ts';
export type { DiffLayersOptions, TreeDiff } from './diff-layers.ts';
export { diffLayers } from './diff-layers.ts';
export { assertEntryId, isEntryId, isEntryName, isEntryRef, newEntryId } from './entry-id.ts';
export type {
  EntryLayout,
  EntryMetadata,
  EntryMetadataInput,
  EntryOrigin,
  ImageConfig,
} from './entry-metadata.ts';
export { assertEntryName, assertEntryRef, ENTRY_NAME_RULE } from './entry-name.ts';
export {
  NAMES_DIR,
  NAMES_LOCK,
  readEntryName,
  readEntryNames,
  resolveEntryRef,
} from './entry-name-lookup.ts';
export {
  assertEntryNameFree,
  claimEntryName,
  dropEntryNames,
  dropStaleEntryNames,
  releaseEntryName,
} from './entry-names.ts';
export type { InUseMark } from './in-use-marks.ts';
export type { MaterializeLayersOptions } from './materialize-layers.ts';
export { materializeLayers } from './materialize-layers.ts';
export type { TreeMeasurement } from './measure-tree.ts';
export { measureTree } from './measure-tree.ts';
export {
  isSwappedPathError,
  O_PATH,
  openBeneath,
  openDirectoryBeneath,
  openDirectoryNoFollow,
  pathBeneath,
} from './open-beneath.ts';
export type {
  CloneEntryOptions,
  EntryLayers,
  OpenStoreOptions,
  PruneOptions,
  PruneReport,
  Store,
  StoreEntry,
} from './open-store.ts';
export { openStore } from './open-store.ts';
export { parseDuration } from './parse-duration.ts';
export type { CreateEntryOptions, PendingEntry } from './pending-entry.ts';
export { existsInLayers, readFileInLayers } from './read-file-in-layers.ts';
export { removeTree } from './remove-tree.ts';
export type { LayerHit, ResolveInLayersOptions } from './resolve-in-layers.ts';
export { resolveInLayers } from './resolve-in-layers.ts';
export type { ResolveInRootfsOptions } from './resolve-in-rootfs.ts';
export { resolveInRootfs } from './resolve-in-rootfs.ts';
export type { ScratchCopy, ScratchLayer } from './scratch-layer.ts';
export type { ResolveStoreDirOptions } from './store-dir.ts';
export { DEFAULT_STORE_DIR, defaultStoreDir, resolveStoreDir } from './store-dir.ts';
export { userNamespacePrefix } from './user-namespace-prefix.ts';
export { withFileLock } from './with-file-lock.ts';
export { writeFileInLayers } from './write-file-in-layers.ts';
