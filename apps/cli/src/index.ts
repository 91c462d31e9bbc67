// The programmatic API: the same operations the `polythene` command runs. The engine is
// @polythene/core's; here it runs with the built-in backends unless `backends` is given.

export type {
  BackendSource,
  BoxStatus,
  CloneOptions,
  CommitOptions,
  CommitResult,
  EntryFilters,
  EntryMetadata,
  ExecOptions,
  ExecRestOptions,
  ExecResult,
  Guarantee,
  ListedEntry,
  ListOptions,
  LoadResult,
  OverlayLayers,
  PruneOptions,
  PruneReport,
  PullOptions,
  PullRestOptions,
  PullResult,
  RemoveOptions,
  SaveOptions,
  SaveResult,
  StoreEntry,
  StoreOptions,
  TreeDiff,
} from '@polythene/core';
export {
  commit,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_OUTPUT_BYTES,
  diff,
  inspect,
  list,
  load,
  prune,
  pull,
  remove,
  rename,
  save,
} from '@polythene/core';
export type { ExecInBoxOptions, ExecInBoxResult } from './api/boxes/exec-in-box.ts';
export { execInBox } from './api/boxes/exec-in-box.ts';
export type { BoxCommandOptions } from './api/boxes/prepare-box-command.ts';
export { readBoxLog } from './api/boxes/read-box-log.ts';
export type { BoxProcess } from './api/boxes/spawn-in-box.ts';
export { spawnInBox } from './api/boxes/spawn-in-box.ts';
export type { StartBoxOptions, StartedBox } from './api/boxes/start-box.ts';
export { startBox } from './api/boxes/start-box.ts';
export type { StopBoxOptions } from './api/boxes/stop-box.ts';
export { stopBox } from './api/boxes/stop-box.ts';
export { createBuiltinBackends } from './engine.ts';
export { EXIT_CODES, exitCodeForError, exitCodeForSignal } from './exit-codes.ts';
export { canRunOverlayHere, clone, exec } from './with-builtins.ts';
