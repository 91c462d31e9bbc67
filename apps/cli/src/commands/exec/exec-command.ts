import { exec } from '@polythene/core/internal/exec/exec';
import { PolytheneError } from '@polythene/errors';
import { cliBackends, takeEarlyRunCgroup } from '../../engine.ts';
import { EXIT_CODES, exitCodeForSignal } from '../../exit-codes.ts';
import {
  byteCount,
  lastBoolean,
  lastString,
  optionalPath,
  type RawOptions,
  stringList,
  timeoutMsFromFlagOrEnv,
} from '../../normalize-options.ts';
import { printJson, readCommandContext } from '../command-context.ts';
import { limitFlags, limitsJson, reportLimitHit } from './limit-flags.ts';
import { reportTimeout } from './report-timeout.ts';

/**
 * `polythene exec UUID -- CMD…`: exits with the command's status, 128+n when it died of
 * signal n, 124 on `--timeout`.
 */
export async function execCommand(
  uuid: string,
  positional: string[],
  options: RawOptions,
): Promise<number> {
  const context = readCommandContext(options);
  const isTty = lastBoolean(options.tty);
  if (isTty && context.isJson) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      '--json captures output, which a terminal cannot give: drop --tty or --json',
    );
  }
  // Words before `--` are positional; after it, cac keeps them verbatim in options['--'].
  const command = [...positional.map(String), ...stringList(options['--'], '--')];
  const timeoutMs = timeoutMsFromFlagOrEnv(options.timeout);
  const result = await exec({
    ...cliBackends(),
    id: uuid,
    command,
    store: context.store,
    isolation: lastString(options.isolation, '--isolation'),
    backendModules: stringList(options.backendModule, '--backend-module'),
    env: stringList(options.env, '--env'),
    workdir: lastString(options.workdir, '--workdir'),
    user: lastString(options.user, '--user'),
    binds: stringList(options.bind, '--bind'),
    workspace: optionalPath(options.workspace),
    timeoutMs,
    stdio: context.isJson ? 'pipe' : 'inherit',
    maxOutputBytes: byteCount(options.maxOutput, '--max-output'),
    strict: lastBoolean(options.strict),
    capAdd: stringList(options.capAdd, '--cap-add'),
    capDrop: stringList(options.capDrop, '--cap-drop'),
    ephemeral: lastBoolean(options.ephemeral),
    network: lastString(options.network, '--network'),
    publish: stringList(options.publish, '--publish'),
    ...limitFlags(options),
    tty: isTty,
    interactive: lastBoolean(options.interactive),
    forwardSignals: true,
    logger: context.logger,
    ...takeEarlyRunCgroup(),
  });
  if (context.isJson) {
    const decoder = new TextDecoder();
    printJson({
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      backend: result.backend,
      network: result.network,
      guarantees: result.guarantees,
      stdout: decoder.decode(result.stdout ?? new Uint8Array()),
      stderr: decoder.decode(result.stderr ?? new Uint8Array()),
      stdoutTruncated: result.stdoutTruncated ?? false,
      stderrTruncated: result.stderrTruncated ?? false,
      ...limitsJson(result),
    });
  }
  reportLimitHit(result);
  reportTimeout(result.timedOut, timeoutMs);
  if (result.limit === 'memory') return EXIT_CODES.memoryLimit;
  if (result.timedOut) return EXIT_CODES.timeout;
  if (result.signal) return exitCodeForSignal(result.signal);
  return result.exitCode ?? EXIT_CODES.failure;
}
