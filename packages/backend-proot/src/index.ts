export { listHostDevices } from '@polythene/probe';
export type { ProotArgsOptions } from './build-proot-args.ts';
export {
  buildProotArgs,
  extractProotNotices,
  PROOT_DEVICES,
  PROOT_MASKED_PROC_PATHS,
} from './build-proot-args.ts';
export { createProotBackend } from './create-proot-backend.ts';
export type { ProotDetails } from './probe-proot.ts';
export {
  probeProot,
  prootArgsOptionsFrom,
  readProotDetails,
} from './probe-proot.ts';
export type { ProotDevDir } from './proot-dev-dir.ts';
export { openProotDevDir } from './proot-dev-dir.ts';
