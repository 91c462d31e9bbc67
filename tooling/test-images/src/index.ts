export { createBusyboxRootfs } from './create-busybox-rootfs.ts';
export { createLargeRootfs } from './create-large-rootfs.ts';
export { ensureDebCache } from './ensure-deb-cache.ts';
export { ensureDebianImage, ensureDebianImageAs } from './ensure-debian-image.ts';
export { ensureLargeImage } from './ensure-large-image.ts';
export { ensureTestImages } from './ensure-test-images.ts';
export { ensureTestImagesAs } from './ensure-test-images-as.ts';
export { ensureTestUser } from './ensure-test-user.ts';
export {
  ensureUserWithoutIdRange,
  runAsUserWithoutIdRange,
  userWithoutIdRangeName,
} from './ensure-user-without-id-range.ts';
export type {
  AptRepository,
  DebCache,
  DebianImage,
  LargeImage,
  LoopbackRegistry,
  RunAsTestUserOptions,
  RunAsTestUserResult,
  TestImages,
  TestUser,
} from './fixture-types.ts';
export { REFUSE_USER_NAMESPACES_SCRIPT, runAsTestUser } from './run-as-test-user.ts';
export { startAptRepository } from './start-apt-repository.ts';
export type { StartLoopbackRegistryOptions } from './start-loopback-registry.ts';
export { startLoopbackRegistry } from './start-loopback-registry.ts';
export { testUserEnv } from './test-user-env.ts';
export type { RegistryAuthFile } from './write-registry-auth-file.ts';
export { writeRegistryAuthFile } from './write-registry-auth-file.ts';
