import { PolytheneError } from '@polythene/errors';
import { cac } from 'cac';
import { execInBox } from '../../api/boxes/exec-in-box.ts';
import { EXIT_CODES, exitCodeForSignal } from '../../exit-codes.ts';
import {
  byteCount,
  lastBoolean,
  lastString,
  type RawOptions,
  stringList,
  timeoutMsFromFlagOrEnv,
  timeoutMsFromSeconds,
} from '../../normalize-options.ts';
import { parseWithCac } from '../../parse-with-cac.ts';
import { printJson, readCommandContext } from '../command-context.ts';

/**
 * `polythene exec --in BOX [--detach] -- CMD…`: runs CMD in a running box; exits as exec does
 * (the command's status, 128+n, 124). `--detach` without `--in` is a usage error (2), and so
 * are an unknown option and `--tty` (a command in a box gets no terminal of its own).
 */
export async function execInCommand(argv: readonly string[]): Promise<number> {
  const cli = cac('polythene');
  const execIn = cli
    .command('exec [...command]', 'Run a command inside a running box')
    .option('--in <box>', 'The running box (id or name)')
    .option('--detach', 'Start the command in the background; its output goes to the box log')
    .option('--env <KEY[=VALUE]>', 'Set a variable (repeatable)')
    .option('--workdir <dir>', 'Working directory in the box')
    .option('--user <user[:group]>', 'User in the box')
    .option(
      '-t, --timeout <seconds>',
      'Kill the command after this many seconds (exit 124; env POLYTHENE_TIMEOUT)',
    )
    .option('--json', 'Capture output and print one JSON object')
    .option('--max-output <bytes>', 'With --json: cap on captured output')
    .option('-s, --store <dir>', 'Store directory')
    // Taken as exec takes it: stdin is passed to the command anyway.
    .option('--interactive', 'Keep stdin open (it always is)')
    // Declared to be refused by name below, rather than as an unknown option.
    .option('--tty', 'Not with --in');
  parseWithCac(cli, ['exec', ...argv]);
  // As cac does before it runs any other command's action: an unknown option (a typo, or an
  // exec option a box does not take, as --bind) is a usage error, never ignored.
  execIn.checkUnknownOptions();
  execIn.checkOptionValue();
  const options = cli.options as RawOptions;
  if (options.tty !== undefined) {
    // A limit of exec --in, the same for every box: a usage error, not a backend's 125.
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      'exec --in takes no --tty: a command in a box gets no terminal of its own; use polythene shell ENTRY or exec ENTRY --tty',
    );
  }
  const box = lastString(options.in, '--in');
  const isDetached = lastBoolean(options.detach);
  if (box === undefined || box === '') {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      '--detach needs --in BOX: start a box with polythene start ENTRY first',
    );
  }
  const context = readCommandContext(options);
  // POLYTHENE_TIMEOUT bounds exec commands, never a --detach'ed process (it outlives exec).
  const timeoutMs = isDetached
    ? timeoutMsFromSeconds(options.timeout)
    : timeoutMsFromFlagOrEnv(options.timeout);
  if (isDetached && (timeoutMs !== undefined || context.isJson)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      '--detach takes no --timeout or --json: its output goes to polythene logs',
    );
  }
  const command = [...cli.args.map(String), ...stringList(options['--'], '--')];
  const result = await execInBox({
    box,
    command,
    detach: isDetached,
    store: context.store,
    env: stringList(options.env, '--env'),
    workdir: lastString(options.workdir, '--workdir'),
    user: lastString(options.user, '--user'),
    timeoutMs,
    stdio: context.isJson ? 'pipe' : 'inherit',
    maxOutputBytes: byteCount(options.maxOutput, '--max-output'),
    forwardSignals: true,
    logger: context.logger,
  });
  if (context.isJson) {
    const decoder = new TextDecoder();
    printJson({
      box: result.box,
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      backend: result.backend,
      stdout: decoder.decode(result.stdout ?? new Uint8Array()),
      stderr: decoder.decode(result.stderr ?? new Uint8Array()),
    });
  }
  if (result.timedOut) return EXIT_CODES.timeout;
  if (result.signal) return exitCodeForSignal(result.signal);
  return result.exitCode ?? EXIT_CODES.failure;
}
