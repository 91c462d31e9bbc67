export type { BackendConformanceSuiteOptions } from '@polythene/backend-conformance';
export { defineBackendConformanceSuite } from '@polythene/backend-conformance';
export type { TreeDiff } from '@polythene/store';
export type {
  Box,
  BoxBind,
  BoxExecOptions,
  BoxExecResult,
  BoxLimits,
  BoxOptions,
  BoxWriteFileOptions,
} from './box-types.ts';
export type { BoxMethod } from './choose-box-method.ts';
export type { PolytheneFixtures } from './create-polythene-test.ts';
export { createPolytheneTest } from './create-polythene-test.ts';
export { diffTrees } from './diff-trees.ts';
export type {
  LiveBox,
  LiveBoxOptions,
  LiveBoxProcess,
  LiveBoxSpawnOptions,
  WaitOptions,
} from './live-box-types.ts';
export { listLiveScratchDirs } from './live-scratch-dirs.ts';
export type { EntryOptions } from './open-entry.ts';
export { openEntry } from './open-entry.ts';
export type { ClearImageCacheOptions, ImageOptions, PolytheneImage } from './open-image.ts';
export { clearImageCache, openImage } from './open-image.ts';
export { polythene } from './polythene.ts';
export type { PolytheneMatchers } from './polythene-matchers.ts';
export { installPolytheneMatchers, polytheneMatchers } from './polythene-matchers.ts';
