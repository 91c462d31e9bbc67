import type { InspectedImage } from './inspect-image.ts';

/** When to contact the registry: always, only when the image is not in podman yet, or never. */
export type PullPolicy = 'always' | 'missing' | 'never';

/** How the tree leaves podman: `podman image mount` + tar, or `podman create` + `podman export`. */
export type ExportMethod = 'export' | 'mount';

/** The steps of an export, in order; `export` and `extract` stream together. */
export type ExportPhase = 'pull' | 'create' | 'export' | 'extract' | 'cleanup';

/** A progress report. */
export interface ExportProgress {
  /** The step under way. */
  phase: ExportPhase;
  /** Archive bytes streamed so far (0 before the export starts). */
  bytes: number;
  /** Members extracted so far. */
  files: number;
}

/** Options for `exportImage`. */
export interface ExportImageOptions {
  /** The image reference; checked with `validateImageRef`. */
  ref: string;
  /** An existing, empty directory that becomes the root filesystem. */
  targetDir: string;
  /** Default `missing`. Archive and layout transports are read from disk whatever the policy. */
  pullPolicy?: PullPolicy;
  /** Give up after this many milliseconds (`POLYTHENE_TIMEOUT`); default: no limit. */
  timeoutMs?: number;
  /** Aborting stops podman and tar, cleans up, and rejects with `POLYTHENE_INTERRUPTED`. */
  abortSignal?: AbortSignal;
  /** Host environment for podman; default `process.env`. Podman defaults are applied with `createPodmanEnv`. */
  env?: Record<string, string | undefined>;
  /** Progress events; extraction events come at most every 100 ms. */
  onProgress?: (event: ExportProgress) => void;
  /** Verbose lines (each podman command, fallbacks). */
  log?: (line: string) => void;
  /**
   * `auto` (default) copies from `podman image mount` where it works and falls back to
   * `podman create` + `podman export`; the others force one route.
   */
  method?: 'auto' | ExportMethod;
  /**
   * An argv prefix that runs the extracting tar in the user namespace whose ids the store
   * keeps (see `extractTarStream`'s `userNamespacePrefix`): an unprivileged pull then keeps
   * the image's owners, shifted into the caller's subordinate range as rootless podman
   * stores them. Default: none (owners kept as root, flattened to the caller otherwise).
   */
  userNamespacePrefix?: readonly string[];
}

/** The result of `exportImage`: what the image is (as inspected) and what was extracted. */
export interface ExportedImage extends InspectedImage {
  /** Archive bytes streamed out of podman. */
  bytesExported: number;
  /** Members extracted (files, directories, links). */
  filesExtracted: number;
  /** Device nodes and fifos left out. */
  skippedSpecialFiles: number;
  /** The route taken. */
  method: ExportMethod;
}
