export { findNativeHelper, requireNativeHelper } from './find-native-helper.ts';
