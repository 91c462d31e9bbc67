export type { ChrootArgsOptions, ChrootHostDev, ChrootMount } from './build-chroot-args.ts';
export {
  buildChrootArgs,
  buildChrootMountTable,
  CAPABILITY_NAMES,
  KEPT_CAPABILITIES,
  KERNEL_PROC_ENTRIES,
  listDroppedCapabilities,
} from './build-chroot-args.ts';
export { createChrootBackend } from './create-chroot-backend.ts';
export type { ChrootDetails } from './probe-chroot.ts';
export {
  chrootArgsOptionsFrom,
  chrootHostDev,
  hasUsualDevLinks,
  probeChroot,
  readChrootDetails,
} from './probe-chroot.ts';
