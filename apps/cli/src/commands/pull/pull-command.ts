import { listenForInterruption } from '@polythene/core/internal/interruption';
import { pull } from '@polythene/core/internal/pull';
import { withReceivedSignal } from '../../cli.ts';
import {
  lastBoolean,
  lastString,
  oneOf,
  type RawOptions,
  timeoutMsFromFlagOrEnv,
} from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';
import { createProgressDisplay } from './progress-display.ts';

/** `polythene pull IMAGE`: prints the new UUID alone on stdout (or `--json`). */
export async function pullCommand(image: string, options: RawOptions): Promise<number> {
  const isQuiet = lastBoolean(options.quiet);
  const context = readCommandContext(options, isQuiet);
  const pullPolicy = oneOf(options.pull, '--pull', ['always', 'missing', 'never'] as const);
  const timeoutMs = timeoutMsFromFlagOrEnv(options.timeout);
  const progress = createProgressDisplay(process.stderr, isQuiet || context.isJson);
  using interruption = listenForInterruption();
  try {
    const result = await pull({
      image,
      store: context.store,
      pullPolicy,
      timeoutMs,
      abortSignal: interruption.signal,
      onProgress: (event) => progress.update(event),
      logger: context.logger,
      name: lastString(options.name, '--name'),
    });
    progress.finish();
    if (context.isJson) {
      const { metadata } = result;
      printJson({
        id: result.id,
        name: result.name ?? null,
        image: metadata.image,
        digest: metadata.digest ?? null,
        imageId: metadata.imageId ?? null,
        path: result.path,
        sizeBytes: metadata.sizeBytes,
        fileCount: metadata.fileCount,
        durationMs: result.durationMs,
        method: result.method,
      });
    } else {
      process.stdout.write(`${result.id}\n`);
    }
    return 0;
  } catch (error) {
    progress.finish();
    throw withReceivedSignal(error, interruption.receivedSignal);
  }
}
