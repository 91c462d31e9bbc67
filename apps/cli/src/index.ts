// The programmatic API: the same operations the `polythene` command runs.

export type { Guarantee, OverlayLayers } from '@polythene/probe';
export type { EntryMetadata, PruneReport, StoreEntry, TreeDiff } from '@polythene/store';
export type { BoxStatus } from './api/boxes/box-state.ts';
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
export { createBuiltinBackends } from './api/exec/backend-selection.ts';
export type { ExecOptions, ExecResult } from './api/exec/exec.ts';
export { DEFAULT_KILL_GRACE_MS, DEFAULT_MAX_OUTPUT_BYTES, exec } from './api/exec/exec.ts';
export type { PullOptions, PullResult } from './api/pull.ts';
export { pull } from './api/pull.ts';
export type { CloneOptions, PruneOptions, RemoveOptions } from './api/store-operations.ts';
export {
  canRunOverlayHere,
  clone,
  diff,
  inspect,
  list,
  prune,
  remove,
} from './api/store-operations.ts';
export type { StoreOptions } from './api/store-options.ts';
export { EXIT_CODES, exitCodeForError, exitCodeForSignal } from './exit-codes.ts';
