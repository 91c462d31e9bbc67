export type { ChrootArgsOptions, ChrootHostDev, ChrootMount } from './build-chroot-args.ts';
export {
  buildChrootArgs,
  buildChrootMountTable,
  KERNEL_PROC_ENTRIES,
} from './build-chroot-args.ts';
export {
  CAPABILITY_NAMES,
  KEPT_CAPABILITIES,
  listDroppedCapabilities,
} from './chroot-capabilities.ts';
export { createChrootBackend } from './create-chroot-backend.ts';
export type { ChrootDetails } from './probe-chroot.ts';
export {
  chrootArgsOptionsFrom,
  chrootHostDev,
  hasUsualDevLinks,
  probeChroot,
  readChrootDetails,
} from './probe-chroot.ts';
