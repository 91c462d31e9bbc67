// What the `polythene` CLI and the tests need beyond the public API: not a stable interface.
// (Reached as `@polythene/core/internal`.)

/** Default cap on captured stdout and stderr (each) in `pipe` mode: 16 MiB, defined by probe. */
export { DEFAULT_MAX_OUTPUT_BYTES } from '@polythene/probe';
export type { CommitOptions, CommitResult } from './archive/commit-entry.ts';
export { commit, configChanges } from './archive/commit-entry.ts';
export type { LoadResult } from './archive/load-entry.ts';
export { load } from './archive/load-entry.ts';
export type { SaveOptions, SaveResult } from './archive/save-entry.ts';
export { save } from './archive/save-entry.ts';
export type { OnTarHeader } from './archive/tar-blocks.ts';
export {
  createFileMember,
  dataBlockBytes,
  formatDigest,
  headerName,
  headerType,
  newHash,
  TAR_END,
  TarFramer,
} from './archive/tar-blocks.ts';
export type { BoxHolder, BoxRecord, BoxStatus } from './boxes/box-state.ts';
export {
  assertBoxName,
  boxDir,
  boxesDir,
  boxLogPath,
  cleanDeadBox,
  findBox,
  isSameProcess,
  listBoxes,
  readBox,
  readStartTime,
  touchLastUsed,
  writeJson,
} from './boxes/box-state.ts';
export type { EntryFilters } from './entry-filters.ts';
export { matchesEntryFilters, matchesPattern, parseEntryFilters } from './entry-filters.ts';
export type {
  ExecBackendChooser,
  ExecBackendSelection,
  ExecRegistryOptions,
  RootRequirements,
  SelectExecBackendOptions,
} from './exec/backend-selection.ts';
export { createExecBackendChooser, createExecRegistry } from './exec/backend-selection.ts';
export type { BackendSource } from './exec/backend-source.ts';
export { BUILTIN_BACKEND_PACKAGES, requireBackends } from './exec/backend-source.ts';
export type { CommandEnvironmentInputs } from './exec/command-environment.ts';
export { buildCommandEnvironment, DEFAULT_PATH } from './exec/command-environment.ts';
export { DEFAULT_KILL_GRACE_MS, exec } from './exec/exec.ts';
export type { ExecOptions, ExecResult } from './exec/exec-options.ts';
export type { NetworkRequest } from './exec/network/resolve-network.ts';
export { resolveNetwork } from './exec/network/resolve-network.ts';
export {
  DEFAULT_PIDS_LIMIT,
  formatMemorySize,
  parseCpus,
  parseMemorySize,
  parsePidsLimit,
} from './exec/parse-limits.ts';
export type { ExecRestOptions } from './exec/read-exec-arguments.ts';
export { readExecArguments } from './exec/read-exec-arguments.ts';
export type { ResolveInRoot } from './exec/root-view.ts';
export { createRootResolver } from './exec/root-view.ts';
export type { RootfsUser } from './exec/rootfs-user.ts';
export { resolveRootfsUser } from './exec/rootfs-user.ts';
export type { LimitOptions, LimitsOutcome, RequestedLimits, RunLimits } from './exec/run-limits.ts';
export { prepareRunLimits, resolveRequestedLimits } from './exec/run-limits.ts';
export type { ThrowawayRoot, ThrowawayRootMethod } from './exec/throwaway-root.ts';
export { createThrowawayRoot } from './exec/throwaway-root.ts';
export type { Interruption } from './interruption.ts';
export { INTERRUPT_SIGNALS, listenForInterruption } from './interruption.ts';
export type { Logger, LoggerOptions } from './logger.ts';
export { createLogger, isVerboseEnv, silentLogger, writeToStderr } from './logger.ts';
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
export { openStoreFromOptions } from './store-options.ts';
