// The engine as a library: pull, exec, clone, diff, list, inspect, rm and prune, run through
// the backends the caller passes (core ships none).

export type { Backend, Guarantee, OverlayLayers } from '@polythene/probe';
/** Default cap on captured stdout and stderr (each) in `pipe` mode: 16 MiB, defined by probe. */
export { DEFAULT_MAX_OUTPUT_BYTES } from '@polythene/probe';
export type { EntryMetadata, PruneReport, StoreEntry, TreeDiff } from '@polythene/store';
export type { CommitOptions, CommitResult } from './archive/commit-entry.ts';
export { commit } from './archive/commit-entry.ts';
export type { LoadResult } from './archive/load-entry.ts';
export { load } from './archive/load-entry.ts';
export type { SaveOptions, SaveResult } from './archive/save-entry.ts';
export { save } from './archive/save-entry.ts';
export type { BoxStatus } from './boxes/box-state.ts';
export type { EntryFilters } from './entry-filters.ts';
export type { BackendSource } from './exec/backend-source.ts';
export { BUILTIN_BACKEND_PACKAGES } from './exec/backend-source.ts';
export { DEFAULT_KILL_GRACE_MS, exec } from './exec/exec.ts';
export type { ExecOptions, ExecResult } from './exec/exec-options.ts';
export type { ExecRestOptions } from './exec/read-exec-arguments.ts';
export type { ThrowawayRoot, ThrowawayRootMethod } from './exec/throwaway-root.ts';
export { createThrowawayRoot } from './exec/throwaway-root.ts';
export type { Logger, LoggerOptions } from './logger.ts';
export { createLogger, silentLogger } from './logger.ts';
export type { ModuleImporter } from './module-importer.ts';
export type { PullOptions, PullRestOptions, PullResult } from './pull.ts';
export { pull } from './pull.ts';
export type {
  CloneOptions,
  ListedEntry,
  ListOptions,
  OverlayCheckOptions,
  PruneOptions,
  RemoveOptions,
} from './store-operations.ts';
export {
  canRunOverlayHere,
  clone,
  diff,
  inspect,
  list,
  prune,
  remove,
  rename,
} from './store-operations.ts';
export type { StoreOptions } from './store-options.ts';
