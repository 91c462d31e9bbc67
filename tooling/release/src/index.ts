export { findUnknownChangesetPackages, readChangesetPackages } from './check-changesets.ts';
export { checkPackedManifests, readPackedManifest } from './check-packed-manifests.ts';
export { copyWorkspace } from './copy-workspace.ts';
export { listPublishablePackages, type PublishablePackage } from './list-publishable-packages.ts';
export { type PackedPackage, packPackages } from './pack-packages.ts';
export { type ReleaseOptions, type ReleaseResult, release } from './release.ts';
