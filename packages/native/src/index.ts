export { findNativeAddon, findNativeHelper, requireNativeHelper } from './find-native-helper.ts';
export { DUMPABLE_ADDON, getDumpableState, holdNonDumpable } from './hold-non-dumpable.ts';
