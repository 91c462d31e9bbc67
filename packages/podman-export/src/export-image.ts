import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { isPolytheneError, PolytheneError } from '@polythene/errors';
import { execa } from 'execa';
import { ownerBootLabel, ownerPidLabel, pullLabel, readBootId } from './container-labels.ts';
import { createPodmanEnv } from './create-podman-env.ts';
import { type ExtractStats, extractTarStream } from './extract-tar-stream.ts';
import { type ImageConfig, type InspectedImage, inspectImage } from './inspect-image.ts';
import { isLocalOnlyImage, localImageMissing } from './local-only-image.ts';
import { pickUsefulLine } from './pick-useful-line.ts';
import { removeLeftoverContainers } from './remove-leftover-containers.ts';
import {
  type PodmanContext,
  podmanMissingMessage,
  runPodman,
  throwIfAborted,
  tryPodman,
} from './run-podman.ts';
import { tarXattrArgs } from './tar-xattr-args.ts';
import { validateImageRef } from './validate-image-ref.ts';

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

/** Options for {@link exportImage}. */
export interface ExportImageOptions {
  /** The image reference; checked with {@link validateImageRef}. */
  ref: string;
  /** An existing, empty directory that becomes the root filesystem. */
  targetDir: string;
  /** Default `missing`. Archive and layout transports are read from disk whatever the policy. */
  pullPolicy?: PullPolicy;
  /** Give up after this many milliseconds (`POLYTHENE_TIMEOUT`); default: no limit. */
  timeoutMs?: number;
  /** Aborting stops podman and tar, cleans up, and rejects with `POLYTHENE_INTERRUPTED`. */
  abortSignal?: AbortSignal;
  /** Host environment for podman; default `process.env`. Podman defaults are applied with {@link createPodmanEnv}. */
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

/** The result of {@link exportImage}: what the image is and what was extracted. */
export interface ExportedImage {
  /** The full image id. */
  imageId: string;
  /** The manifest digest (`sha256:…`), when podman knows it. */
  digest?: string;
  /** CPU architecture (`amd64`, `arm64`). */
  architecture?: string;
  /** OS (`linux`). */
  os?: string;
  /** When the image was built (RFC 3339). */
  createdAt?: string;
  /** Env, WorkingDir, User, Entrypoint, Cmd. */
  config: ImageConfig;
  /** Archive bytes streamed out of podman. */
  bytesExported: number;
  /** Members extracted (files, directories, links). */
  filesExtracted: number;
  /** Device nodes and fifos left out. */
  skippedSpecialFiles: number;
  /** The route taken. */
  method: ExportMethod;
}

const pullPolicies: readonly PullPolicy[] = ['always', 'missing', 'never'];
const archiveTransports = ['oci-archive:', 'docker-archive:', 'oci:', 'dir:'];
const cleanupTimeoutMs = 60_000;
const progressIntervalMs = 100;

/**
 * Turns an image into a root filesystem in `targetDir`: pull per policy, read the config
 * with `podman image inspect`, then stream the tree out of podman (from `podman image mount`
 * where it works, else a labelled stopped container and `podman export`) through the safe
 * extractor ({@link extractTarStream}). Whatever happens — failure, timeout, abort — the
 * container is removed and the mount released before this settles.
 *
 * @throws PolytheneError `POLYTHENE_INVALID_IMAGE_REF`, `POLYTHENE_USAGE` (bad policy),
 * `POLYTHENE_PODMAN_MISSING`, `POLYTHENE_PULL_FAILED` (with podman's stderr line),
 * `POLYTHENE_EXTRACT_FAILED`, `POLYTHENE_TIMEOUT`, `POLYTHENE_INTERRUPTED`. On failure
 * `targetDir` may hold a partial tree: the caller discards it.
 */
export async function exportImage(options: ExportImageOptions): Promise<ExportedImage> {
  const ref = validateImageRef(options.ref);
  const policy = options.pullPolicy ?? 'missing';
  if (!pullPolicies.includes(policy)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `unknown pull policy ${JSON.stringify(policy)}; use always, missing or never`,
    );
  }
  const method = options.method ?? 'auto';
  const log = options.log ?? (() => {});
  const env = createPodmanEnv(options.env ?? process.env);
  if (options.abortSignal?.aborted) {
    throw interrupted(ref);
  }
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(interrupted(ref));
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            controller.abort(
              new PolytheneError(
                'POLYTHENE_TIMEOUT',
                `pulling ${ref} took longer than ${options.timeoutMs} ms; nothing was kept — raise the timeout or check the registry`,
              ),
            ),
          options.timeoutMs,
        );
  const context: PodmanContext = { env, signal: controller.signal, log };
  const cleanups: Cleanup[] = [];
  const report = (phase: ExportPhase, bytes = 0, files = 0): void =>
    options.onProgress?.({ phase, bytes, files });
  try {
    await removeLeftoverContainers({ env, log }).catch((error: unknown) => {
      if (isPolytheneError(error)) throw error;
      log(`leftover clean-up skipped: ${String(error)}`);
    });
    report('pull');
    const imageId = await resolveImage(ref, policy, context);
    throwIfAborted(controller.signal);
    const inspected = await inspectImage(imageId, context);
    const stream: StreamTarget = {
      report,
      context,
      targetDir: options.targetDir,
      userNamespacePrefix: options.userNamespacePrefix,
    };
    let stats: ExtractStats | undefined;
    let route: ExportMethod = 'export';
    if (method !== 'export') {
      stats = await exportFromMount(inspected.imageId, stream, cleanups, method === 'mount');
      route = 'mount';
    }
    if (stats === undefined) {
      report('create');
      stats = await exportFromContainer(inspected.imageId, stream, cleanups);
      route = 'export';
    }
    return toExportedImage(inspected, stats, route);
  } finally {
    clearTimeout(timer);
    options.abortSignal?.removeEventListener('abort', onAbort);
    if (cleanups.length > 0) {
      report('cleanup');
    }
    // Clean-up runs with its own deadline: the pull's signal may already have fired.
    const cleanupContext: PodmanContext = {
      env,
      log,
      signal: AbortSignal.timeout(cleanupTimeoutMs),
    };
    for (const cleanup of cleanups.reverse()) {
      await cleanupWith(cleanup, cleanupContext, log);
    }
  }
}

async function cleanupWith(
  cleanup: Cleanup,
  context: PodmanContext,
  log: (line: string) => void,
): Promise<void> {
  try {
    await cleanup(context);
  } catch (error) {
    log(`clean-up step failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function interrupted(ref: string): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_INTERRUPTED',
    `pulling ${ref} was interrupted; nothing was kept`,
  );
}

function toExportedImage(
  inspected: InspectedImage,
  stats: ExtractStats,
  method: ExportMethod,
): ExportedImage {
  return {
    ...inspected,
    bytesExported: stats.bytesRead,
    filesExtracted: stats.filesExtracted,
    skippedSpecialFiles: stats.skippedSpecialFiles,
    method,
  };
}

/** Makes sure the image is in podman's storage per the policy and returns its id. */
async function resolveImage(
  ref: string,
  policy: PullPolicy,
  context: PodmanContext,
): Promise<string> {
  if (ref.startsWith('containers-storage:')) {
    // Already in local storage by definition: nothing to pull whatever the policy.
    return (await inspectImage(ref.slice('containers-storage:'.length), context)).imageId;
  }
  // Archives and layouts are read from disk, never from the network, so "never" does not
  // forbid them; copying them into storage is what makes them exportable.
  const isArchive = archiveTransports.some((prefix) => ref.startsWith(prefix));
  const name = ref.startsWith('docker://') ? ref.slice('docker://'.length) : ref;
  if (!isArchive && policy !== 'always') {
    const local = await tryPodman(['image', 'inspect', '--format', '{{.Id}}', name], context);
    if (!('line' in local) && local.stdout.trim().length > 0) {
      return local.stdout.trim().split('\n')[0] ?? '';
    }
    // Podman would try https://localhost/ and report a refused connection: say what it is.
    if (isLocalOnlyImage(name)) throw localImageMissing(ref);
    if (policy === 'never') {
      throw new PolytheneError(
        'POLYTHENE_PULL_FAILED',
        `image ${ref} is not in podman's storage and the pull policy is never; pull it first or use --pull missing`,
      );
    }
  }
  const stdout = await runPodman(['pull', '--quiet', ref], `podman pull ${ref}`, context);
  const imageId = stdout.trim().split('\n').at(-1)?.trim();
  if (!imageId) {
    throw new PolytheneError('POLYTHENE_PULL_FAILED', `podman pull ${ref} printed no image id`);
  }
  return imageId;
}

interface StreamTarget {
  report: (phase: ExportPhase, bytes?: number, files?: number) => void;
  context: PodmanContext;
  targetDir: string;
  userNamespacePrefix: readonly string[] | undefined;
}

type Cleanup = (context: PodmanContext) => Promise<void>;

/**
 * Root reads the image's own storage mount; rootless podman keeps mounts inside its user
 * namespace, so both the mount and the reading tar run under `podman unshare`. Returns
 * undefined (after cleaning up) when mounting is not possible here and `isForced` is false.
 */
async function exportFromMount(
  imageId: string,
  target: StreamTarget,
  cleanups: Cleanup[],
  isForced: boolean,
): Promise<ExtractStats | undefined> {
  const useUnshare = process.getuid?.() !== 0;
  const mountContext: PodmanContext = { ...target.context, useUnshare };
  const mounted = await tryPodman(['image', 'mount', imageId], mountContext);
  if ('line' in mounted) {
    if (isForced) {
      throw new PolytheneError(
        'POLYTHENE_PULL_FAILED',
        `podman image mount ${imageId} failed: ${mounted.line}`,
      );
    }
    target.context.log(`podman image mount unavailable (${mounted.line}); using podman export`);
    return undefined;
  }
  cleanups.push(async (context) => {
    await tryPodman(['image', 'umount', imageId], { ...context, useUnshare });
  });
  const mountPath = mounted.stdout.trim();
  if (!mountPath.startsWith('/')) {
    throw new PolytheneError(
      'POLYTHENE_PULL_FAILED',
      `podman image mount printed no path: ${mountPath}`,
    );
  }
  const tarArgs = [
    '--create',
    '--file=-',
    `--directory=${mountPath}`,
    '--numeric-owner',
    '--warning=no-file-ignored',
    // pax carries extended attributes; the extractor decides which it keeps.
    '--format=posix',
    '--pax-option=delete=atime,delete=ctime',
    ...tarXattrArgs(true),
    '.',
  ];
  const [file, args] = useUnshare ? ['podman', ['unshare', 'tar', ...tarArgs]] : ['tar', tarArgs];
  return await streamInto(file, args, `reading the mounted image ${imageId}`, target);
}

async function exportFromContainer(
  imageId: string,
  target: StreamTarget,
  cleanups: Cleanup[],
): Promise<ExtractStats> {
  const token = randomUUID();
  // Registered before create: if create is killed half-way, the label still finds it.
  cleanups.push(async (context) => {
    const removed = await tryPodman(
      ['rm', '--force', '--filter', `label=${pullLabel}=${token}`],
      context,
    );
    if ('line' in removed && !/no container/i.test(removed.line)) {
      context.log(`removing the export container failed: ${removed.line}`);
    }
  });
  const created = await runPodman(
    [
      'create',
      '--pull=never',
      '--label',
      `${pullLabel}=${token}`,
      '--label',
      `${ownerPidLabel}=${process.pid}`,
      '--label',
      `${ownerBootLabel}=${readBootId()}`,
      // Never started: the entrypoint only satisfies create for images without a command.
      '--entrypoint=/.polythene-never-started',
      imageId,
    ],
    `podman create ${imageId}`,
    target.context,
  );
  const containerId = created.trim().split('\n').at(-1)?.trim() ?? '';
  if (!/^[0-9a-f]{12,64}$/.test(containerId)) {
    throw new PolytheneError(
      'POLYTHENE_PULL_FAILED',
      `podman create printed no container id: ${containerId}`,
    );
  }
  // podman export opens /dev/stdout by path, which fails (ENXIO) on the socket Node gives a
  // child as stdout; a private fifo is a real pipe it can open.
  const fifoDir = await mkdtemp(join(tmpdir(), 'polythene-export-'));
  try {
    const fifoPath = join(fifoDir, 'rootfs.tar');
    await execa('mkfifo', ['-m', '600', fifoPath]);
    return await streamInto(
      'podman',
      ['export', '--output', fifoPath, containerId],
      `podman export ${containerId}`,
      target,
      fifoPath,
    );
  } finally {
    await rm(fifoDir, { recursive: true, force: true });
  }
}

/** Streams a producer's stdout (a tar archive) into the safe extractor. */
async function streamInto(
  file: string,
  args: readonly string[],
  what: string,
  target: StreamTarget,
  fifoPath?: string,
): Promise<ExtractStats> {
  const { context } = target;
  if ((await readdir(target.targetDir)).length > 0) {
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `extraction target ${target.targetDir} is not empty`,
    );
  }
  context.log(`${file} ${args.join(' ')} | tar --extract --directory=${target.targetDir}`);
  target.report('export');
  // Plain spawn, not execa: execa lets an unbuffered stdout flow (and lose data) before the
  // extractor has attached to it.
  const producer = spawn(file, args, {
    env: { ...context.env, LC_ALL: 'C' },
    stdio: ['ignore', fifoPath === undefined ? 'pipe' : 'ignore', 'pipe'],
  });
  let stderr = '';
  producer.stderr?.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < 64 * 1024) stderr += text;
  });
  const exited = new Promise<{ code: number | null; spawnError?: NodeJS.ErrnoException }>(
    (resolve) => {
      producer.once('error', (spawnError) => resolve({ code: null, spawnError }));
      producer.once('close', (code) => resolve({ code }));
    },
  );
  let isKilledByUs = false;
  const kill = (): void => {
    if (producer.exitCode !== null || producer.signalCode !== null) return;
    isKilledByUs = true;
    producer.kill('SIGTERM');
    setTimeout(() => producer.kill('SIGKILL'), 3000).unref();
  };
  context.signal?.addEventListener('abort', kill, { once: true });
  let source: Readable;
  if (fifoPath === undefined) {
    // Attach a reader now: when a child exits while its stdout has no reader yet, Node
    // resumes that stdout to flush it and the archive is lost (a tiny image's tar can finish
    // before the extractor has attached). pipe() keeps backpressure, so nothing piles up.
    source = (producer.stdout as Readable).pipe(new PassThrough({ highWaterMark: 256 * 1024 }));
  } else {
    const fifo = createReadStream(fifoPath, { highWaterMark: 256 * 1024 });
    let isOpen = false;
    fifo.once('open', () => {
      isOpen = true;
    });
    // A producer that dies before opening the fifo would leave our open() blocked forever:
    // opening the write end ourselves releases it with an empty stream.
    void exited.then(async () => {
      if (!isOpen) {
        await open(fifoPath, 'w').then(
          (handle) => handle.close(),
          () => {},
        );
      }
    });
    source = fifo;
  }
  let lastReportMs = 0;
  let stats: ExtractStats | undefined;
  let extractError: unknown;
  try {
    stats = await extractTarStream(source, target.targetDir, {
      ...(context.signal ? { abortSignal: context.signal } : {}),
      ...(target.userNamespacePrefix === undefined
        ? {}
        : { userNamespacePrefix: target.userNamespacePrefix }),
      onProgress: (current) => {
        const now = Date.now();
        if (now - lastReportMs >= progressIntervalMs) {
          lastReportMs = now;
          target.report('extract', current.bytesRead, current.filesExtracted);
        }
      },
    });
  } catch (error) {
    extractError = error;
    kill();
    source.destroy();
  }
  const { code, spawnError } = await exited;
  context.signal?.removeEventListener('abort', kill);
  throwIfAborted(context.signal);
  if (spawnError) {
    if (file === 'podman' && spawnError.code === 'ENOENT') {
      throw new PolytheneError('POLYTHENE_PODMAN_MISSING', podmanMissingMessage, {
        cause: spawnError,
      });
    }
    throw new PolytheneError('POLYTHENE_PULL_FAILED', `${what} failed: ${spawnError.message}`, {
      cause: spawnError,
    });
  }
  // A producer that failed on its own explains a truncated archive better than the
  // extractor can; one we killed after a refusal does not.
  if (code !== 0 && !isKilledByUs) {
    throw new PolytheneError(
      'POLYTHENE_PULL_FAILED',
      `${what} failed: ${pickUsefulLine(stderr) ?? `exit status ${code}`}`,
      { cause: extractError },
    );
  }
  if (extractError !== undefined || stats === undefined) {
    throw extractError;
  }
  target.report('extract', stats.bytesRead, stats.filesExtracted);
  return stats;
}
