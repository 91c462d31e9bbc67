import { PolytheneError } from '@polythene/errors';
import { cac } from 'cac';
import { COMMANDS } from './command-definitions.ts';
import { type CommandOutcome, EXEC_FLAGS, STORE_OPTION, withOptions } from './command-options.ts';
import { isExecInBox } from './commands/boxes/is-exec-in-box.ts';
import { execCommand } from './commands/exec/exec-command.ts';
import { assertDashedLimitValues } from './commands/exec/limit-flags.ts';
import { EXIT_CODES, exitCodeForError } from './exit-codes.ts';
import { type ParsedExecArgv, parseExecArgv } from './parse-exec-argv.ts';
import { parseWithCac } from './parse-with-cac.ts';

export { EXEC_FLAGS } from './command-options.ts';

// `polythene exec` runs on every call of a test suite, so its whole path is imported here
// and lands in the one file the launcher loads through the code cache. Every other action
// imports its command module only when it runs, so exec never loads the pull machinery.
//
// Only the command being run is registered (its help, options and checks are unchanged);
// every command is registered for `--help`, `--version`, or a word that names none of them.
// Setting up the other commands' options would cost each exec about a millisecond.
function buildCli(
  version: string,
  setOutcome: (outcome: CommandOutcome) => void,
  commandWord: string | undefined,
) {
  const cli = cac('polythene');
  withOptions(cli, [STORE_OPTION]);
  const only = COMMANDS.find((command) => command.names.includes(commandWord ?? ''));
  for (const command of only === undefined ? COMMANDS : [only]) command.register(cli, setOutcome);

  cli.help();
  cli.version(version);
  return cli;
}

/**
 * Runs the CLI on `argv` (without node and script) and resolves to the exit code. Errors
 * become one line on stderr; nothing here calls process.exit, so pending cleanup finishes.
 */
export async function runCli(argv: readonly string[], version: string): Promise<number> {
  let outcome: CommandOutcome | undefined;
  try {
    if (argv[0] === '__box-keeper') {
      // The detached process `start` leaves behind to keep a box (not for users).
      const { runBoxKeeper } = await import('./api/boxes/box-keeper.ts');
      return await runBoxKeeper(String(argv[1]), String(argv[2]));
    }
    if (argv[0] === 'exec' && isExecInBox(argv.slice(1))) {
      const { execInCommand } = await import('./commands/boxes/exec-in-command.ts');
      return await execInCommand(argv.slice(1));
    }
    if (argv[0] === 'exec') {
      // The usual forms skip cac (see parseExecArgv); anything else, `--help` included, and
      // every mistake go through cac below.
      const parsed = parseExecArgv(argv.slice(1), EXEC_FLAGS);
      if (parsed !== undefined) {
        return await execCommand(parsed.uuid, parsed.positional, parsed.options);
      }
      assertDashedLimitValues(argv.slice(1));
    }
    const cli = buildCli(
      version,
      (value) => {
        outcome = value;
      },
      argv[0],
    );
    parseWithCac(cli, argv);
    if (cli.options.version && cli.matchedCommand) {
      // cac reads -v/--version anywhere; after a command word it would do nothing and exit 0.
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `${cli.matchedCommand.name}: unknown option ${argv.includes('-v') ? '-v' : '--version'}`,
      );
    }
    if (cli.options.help || cli.options.version) return EXIT_CODES.ok;
    if (!cli.matchedCommand) {
      if (cli.args.length > 0) {
        throw new PolytheneError(
          'POLYTHENE_USAGE',
          `unknown command ${cli.args[0]} (see polythene --help)`,
        );
      }
      cli.outputHelp();
      return EXIT_CODES.usage;
    }
    await cli.runMatchedCommand();
    return outcome === undefined ? EXIT_CODES.ok : await outcome;
  } catch (error) {
    reportError(error);
    return exitCodeForError(toPolytheneError(error), receivedSignalOf(error));
  }
}

/** How cac parses `polythene exec ARGV`: what {@link parseExecArgv} must agree with (tests). */
export function parseExecArgvWithCac(argv: readonly string[]): ParsedExecArgv {
  const cli = buildCli('0.0.0', () => {}, 'exec');
  parseWithCac(cli, ['exec', ...argv]);
  const [uuid, ...positional] = cli.args;
  return { uuid: uuid ?? '', positional, options: cli.options };
}

/** Marks an error as caused by an interrupt signal, so the exit code is 128+n. */
export function withReceivedSignal(error: unknown, signal: NodeJS.Signals | undefined): unknown {
  if (signal !== undefined && error !== null && typeof error === 'object') {
    interruptSignals.set(error, signal);
  }
  return error;
}

const interruptSignals = new WeakMap<object, NodeJS.Signals>();

function receivedSignalOf(error: unknown): NodeJS.Signals | undefined {
  return error !== null && typeof error === 'object' ? interruptSignals.get(error) : undefined;
}

// cac reports usage problems (unknown option, missing argument) as a plain CACError.
function toPolytheneError(error: unknown): unknown {
  if (error instanceof Error && error.name === 'CACError') {
    return new PolytheneError('POLYTHENE_USAGE', error.message, { cause: error });
  }
  return error;
}

function reportError(error: unknown): void {
  const normalized = toPolytheneError(error);
  const message = normalized instanceof Error ? normalized.message : String(normalized);
  const firstLine = message.split('\n', 1)[0];
  const hint =
    (normalized as { code?: unknown }).code === 'POLYTHENE_USAGE' ? ' (see polythene --help)' : '';
  process.stderr.write(`polythene: ${firstLine}${firstLine?.includes('--help') ? '' : hint}\n`);
  if (process.env.POLYTHENE_DEBUG && normalized instanceof Error && normalized.stack) {
    process.stderr.write(`${normalized.stack}\n`);
  }
}
