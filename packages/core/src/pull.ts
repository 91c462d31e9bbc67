import {
  createPodmanEnv,
  type ExportMethod,
  type ExportProgress,
  exportImage,
  type PullPolicy,
  validateImageRef,
} from '@polythene/podman-export';
import {
  assertEntryName,
  assertEntryNameFree,
  claimEntryName,
  type EntryMetadata,
  releaseEntryName,
  userNamespacePrefix,
} from '@polythene/store';
import {
  type ApiForm,
  assertOptions,
  describeValue,
  failUsage,
  isObject,
  kinds,
  type OptionKind,
  oneOf,
  STORE_OPTION_KINDS,
} from './check-arguments.ts';
import { type Logger, silentLogger } from './logger.ts';
import { openStoreFromOptions, type StoreOptions } from './store-options.ts';

/** Options for {@link pull}. */
export interface PullOptions extends StoreOptions {
  /** The image reference: a registry reference, `localhost/…`, or a local transport. */
  readonly image: string;
  /** When to contact the registry: `missing` (default), `always` or `never`. */
  readonly pullPolicy?: PullPolicy;
  /** Give up (and clean up) after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Aborting cancels the pull and cleans up; the store is left as it was. */
  readonly abortSignal?: AbortSignal;
  /** Progress events (pull, export bytes, extraction), for a progress display. */
  readonly onProgress?: (event: ExportProgress) => void;
  /** Verbose and warning lines; silent by default. */
  readonly logger?: Logger;
  /**
   * A name for the new entry (see `rename`). Claimed before the export starts, so of two
   * pulls with one name the second fails at once (`POLYTHENE_NAME_TAKEN`) and makes nothing.
   */
  readonly name?: string;
}

/** What {@link pull} made: the new entry's metadata, its path and how long it took. */
export interface PullResult {
  /** The new entry's id, a UUID. */
  readonly id: string;
  /** The new entry's name, when one was asked for. */
  readonly name?: string;
  /** The root filesystem's host path, `<store>/<id>`. */
  readonly path: string;
  /** The recorded metadata (image, digest, config, sizes). */
  readonly metadata: EntryMetadata;
  /** Wall-clock time of the whole pull. */
  readonly durationMs: number;
  /** How the tree was copied out of podman. */
  readonly method: ExportMethod;
}

/** The options of the `pull(image, options)` form: all but `image`. */
export type PullRestOptions = Omit<PullOptions, 'image'>;

const PULL: ApiForm = {
  name: 'pull',
  form: "pull({ image: 'docker.io/library/debian:bookworm', ...options }) or pull(image, options)",
};

const REST_OPTION_KINDS: Readonly<Record<keyof PullRestOptions, OptionKind>> = {
  ...STORE_OPTION_KINDS,
  pullPolicy: oneOf(['missing', 'always', 'never']),
  timeoutMs: kinds.number,
  abortSignal: kinds.abortSignal,
  onProgress: kinds.function,
  logger: kinds.logger,
  name: kinds.string,
};

/**
 * Exports an image into a new store entry: `<store>/<uuid>` appears whole or not at all.
 * On any failure or abort the pending entry is discarded and the error rethrown.
 */
export function pull(options: PullOptions): Promise<PullResult>;
/** The same, with the image first: `pull('docker.io/library/debian:bookworm', { name })`. */
export function pull(image: string, options?: PullRestOptions): Promise<PullResult>;
export async function pull(
  first: PullOptions | string,
  rest?: PullRestOptions,
): Promise<PullResult> {
  const options = readPullArguments(first, rest);
  const startedAt = performance.now();
  const logger = options.logger ?? silentLogger;
  const image = validateImageRef(options.image);
  const name = options.name === undefined ? undefined : assertEntryName(options.name);
  const store = await openStoreFromOptions(options, true);
  logger.verbose(`store ${store.dir}`);

  const cleared = await store.clearStaleTemporaries();
  if (cleared > 0) logger.verbose(`cleared ${cleared} stale temporary entries`);

  if (name !== undefined) await assertEntryNameFree(store.dir, name);
  const entry = await store.createEntry();
  logger.verbose(`extracting into ${entry.path}`);
  try {
    // Claimed for the pending id: a live pull holds the name, a dead one's claim is stale.
    if (name !== undefined) await claimEntryName(store.dir, name, entry.id);
    const exported = await exportImage({
      ref: image,
      targetDir: entry.path,
      pullPolicy: options.pullPolicy ?? 'missing',
      timeoutMs: options.timeoutMs,
      abortSignal: options.abortSignal,
      env: createPodmanEnv(options.hostEnv ?? process.env),
      onProgress: options.onProgress,
      log: (line) => logger.verbose(line),
      // Unprivileged: owners kept, shifted into the caller's subordinate range (issue 15).
      userNamespacePrefix: userNamespacePrefix(),
    });
    const metadata = await entry.commit({
      image,
      origin: { kind: 'pull' },
      digest: exported.digest,
      imageId: exported.imageId,
      architecture: exported.architecture,
      os: exported.os,
      imageCreatedAt: exported.createdAt,
      config: exported.config,
    });
    logger.verbose(
      `committed ${metadata.id} (${metadata.fileCount} files, ${metadata.sizeBytes} bytes)`,
    );
    return {
      id: metadata.id,
      ...(name === undefined ? {} : { name }),
      path: await store.rootfsPath(metadata.id),
      metadata,
      durationMs: Math.round(performance.now() - startedAt),
      method: exported.method,
    };
  } catch (error) {
    await entry.discard();
    if (name !== undefined)
      await releaseEntryName(store.dir, name, entry.id).catch(() => undefined);
    throw error;
  }
}

function readPullArguments(first: unknown, rest: unknown): PullOptions {
  if (typeof first === 'string') {
    assertOptions(PULL, rest, REST_OPTION_KINDS);
    return { ...(rest as PullRestOptions | undefined), image: first };
  }
  if (!isObject(first)) {
    failUsage(
      PULL,
      `its first argument must be an image reference or an options object (got ${describeValue(first)})`,
    );
  }
  if (rest !== undefined) failUsage(PULL, 'with an options object, pass nothing after it');
  if (typeof first.image !== 'string') {
    failUsage(PULL, `options.image must be an image reference (got ${describeValue(first.image)})`);
  }
  assertOptions(PULL, first, { ...REST_OPTION_KINDS, image: kinds.string });
  return first as unknown as PullOptions;
}
