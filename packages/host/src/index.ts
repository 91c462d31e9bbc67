export type { ImageConfig } from './image-config.ts';
export { isProcessAlive } from './is-process-alive.ts';
export { readOwnStartTime, readProcessStartTime } from './process-start-time.ts';
export type { RootfsPathResolution } from './resolve-chroot-path-sync.ts';
export { resolveChrootPathSync } from './resolve-chroot-path-sync.ts';
export type {
  ChrootPathResolution,
  PathKind,
  WalkChrootPathOptions,
  WalkRequest,
} from './walk-chroot-path.ts';
export { MAX_SYMLINKS, walkChrootPath } from './walk-chroot-path.ts';
