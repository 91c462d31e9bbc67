export { createPodmanEnv } from './create-podman-env.ts';
export type {
  ExportedImage,
  ExportImageOptions,
  ExportMethod,
  ExportPhase,
  ExportProgress,
  PullPolicy,
} from './export-image.ts';
export { exportImage } from './export-image.ts';
export type { ExtractStats, ExtractTarStreamOptions } from './extract-tar-stream.ts';
export { extractTarStream } from './extract-tar-stream.ts';
export type { ImageConfig } from './inspect-image.ts';
export type { RemoveLeftoverContainersOptions } from './remove-leftover-containers.ts';
export { removeLeftoverContainers } from './remove-leftover-containers.ts';
export { tarXattrArgs } from './tar-xattr-args.ts';
export { maxImageRefLength, validateImageRef } from './validate-image-ref.ts';
