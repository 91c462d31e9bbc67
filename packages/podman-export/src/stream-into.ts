import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { PolytheneError } from '@polythene/errors';
import type { ExportPhase } from './export-image-types.ts';
import { type ExtractStats, extractTarStream } from './extract-tar-stream.ts';
import { pickUsefulLine } from './pick-useful-line.ts';
import { type PodmanContext, podmanMissingMessage, throwIfAborted } from './run-podman.ts';

const progressIntervalMs = 100;

export interface StreamTarget {
  report: (phase: ExportPhase, bytes?: number, files?: number) => void;
  context: PodmanContext;
  targetDir: string;
  userNamespacePrefix: readonly string[] | undefined;
}

/** Streams a producer's stdout (a tar archive) into the safe extractor. */
export async function streamInto(
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
