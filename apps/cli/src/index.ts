// The programmatic API: the same operations the `polythene` command runs.

export type { Guarantee, OverlayLayers } from '@polythene/probe';
export type { EntryMetadata, PruneReport, StoreEntry, TreeDiff } from '@polythene/store';
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
