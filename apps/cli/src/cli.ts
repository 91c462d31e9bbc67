import { PolytheneError } from '@polythene/errors';
import { type CAC, cac } from 'cac';
import { BOX_COMMANDS } from './commands/boxes/box-command-definitions.ts';
import { isExecInBox } from './commands/boxes/is-exec-in-box.ts';
import { execCommand } from './commands/exec/exec-command.ts';
import { assertDashedLimitValues } from './commands/exec/limit-flags.ts';
import { EXIT_CODES, exitCodeForError } from './exit-codes.ts';
import type { RawOptions } from './normalize-options.ts';
import { type ParsedExecArgv, parseExecArgv } from './parse-exec-argv.ts';

/** What a command action resolves to: the process exit code. */
type CommandOutcome = Promise<number>;

/** One command: the words that name it, and how it is set up on the cac instance. */
interface CommandDefinition {
  readonly names: readonly string[];
  readonly register: (cli: CAC, setOutcome: (outcome: CommandOutcome) => void) => void;
}

/** A flag as cac takes it (`--name`, `--name <value>` or `--name [value]`) and its help text. */
type OptionDefinition = readonly [flag: string, description: string];

const STORE_OPTION: OptionDefinition = [
  '-s, --store <dir>',
  'Store directory (env POLYTHENE_STORE, default /var/tmp/polythene)',
];

// exec's, not shell's (which always runs on a terminal, with input). No short forms: -t and
// -i are --timeout and --isolation, as in the Python tool.
const TERMINAL_OPTIONS: readonly OptionDefinition[] = [
  ['--tty', 'Run the command on a terminal of its own (podman -t; not with --json)'],
  ['--interactive', 'With --tty: forward stdin to that terminal (podman -i)'],
];

// One list for exec's cac registration and its fast parse (see parseExecArgv).
const EXEC_OPTIONS: readonly OptionDefinition[] = [
  [
    '-i, --isolation <backend>',
    'Backend to try first: bwrap (bubblewrap), proot, chroot (env POLYTHENE_ISOLATION)',
  ],
  ['--env <KEY[=VALUE]>', 'Set a variable, or copy KEY from the host (repeatable)'],
  ['--workdir <dir>', "Working directory inside the rootfs (default: the image's, else /)"],
  ['--user <user[:group]>', "User inside the rootfs (default: the image's, else root)"],
  ['--bind <src:dest[:ro]>', 'Bind a host path into the rootfs (repeatable)'],
  ['--workspace [dir]', 'Bind DIR (default: the current directory) at /workspace and start there'],
  [
    '-t, --timeout <seconds>',
    'Kill the whole command tree after this many seconds (exit 124; env POLYTHENE_TIMEOUT)',
  ],
  ['--json', 'Capture output and print one JSON object with the result'],
  ['--max-output <bytes>', 'With --json: cap on captured stdout and stderr each (default 16M)'],
  ['--strict', 'Refuse to run with fewer isolation guarantees than the default (exit 125)'],
  ['--cap-add <cap>', "Add a capability to in-box root's container set (repeatable; ALL)"],
  ['--cap-drop <cap>', "Drop a capability from in-box root's set (repeatable; ALL)"],
  ['--backend-module <module>', 'Register a custom backend from a package or path (repeatable)'],
  ['--ephemeral', 'Run on a throwaway copy: changes vanish afterwards'],
  [
    '--network <mode>',
    'none (default: loopback only), host, or private (slirp4netns) (env POLYTHENE_NETWORK)',
  ],
  // podman's -p, with podman's meaning.
  [
    '-p, --publish <HOST_PORT:BOX_PORT[/tcp|udp]>',
    "With --network private: the host's 127.0.0.1:HOST_PORT reaches BOX_PORT (repeatable)",
  ],
  ['--memory <size>', 'Memory limit, e.g. 512m or 1g (killed: exit 137)'],
  ['--cpus <n>', 'CPU limit in CPUs, a fraction allowed (e.g. 0.5)'],
  ['--pids-limit <n>', 'Cap on processes (env POLYTHENE_PIDS_LIMIT, default 4096; 0: none)'],
  ...TERMINAL_OPTIONS,
];

// shell always runs on a terminal and never captures output.
const SHELL_OPTIONS: readonly OptionDefinition[] = EXEC_OPTIONS.filter(
  ([flag]) =>
    !TERMINAL_OPTIONS.some(([terminalFlag]) => terminalFlag === flag) &&
    !flag.startsWith('--json') &&
    !flag.startsWith('--max-output'),
);

/** Every flag `exec` takes, for {@link parseExecArgv}. */
export const EXEC_FLAGS: readonly string[] = [STORE_OPTION, ...EXEC_OPTIONS].map(([flag]) => flag);

function withOptions<T extends { option(flag: string, description: string): T }>(
  target: T,
  options: readonly OptionDefinition[],
): T {
  for (const [flag, description] of options) target.option(flag, description);
  return target;
}

const NAME_HELP =
  'Name the new entry: 1-64 letters, digits, ".", "_", "-", starting with a letter or digit';

/** Every command, in the order `--help` lists them. */
const COMMANDS: readonly CommandDefinition[] = [
  {
    names: ['pull'],
    register: (cli, setOutcome) =>
      cli
        .command('pull <image>', 'Export an image into a new root filesystem and print its UUID')
        .option('--pull <policy>', 'When to contact the registry: always, missing or never', {
          default: 'missing',
        })
        .option(
          '-t, --timeout <seconds>',
          'Give up after this many seconds, and clean up (env POLYTHENE_TIMEOUT)',
        )
        .option('--json', 'Print one JSON object (id, image, digest, path, sizes, duration)')
        .option('-q, --quiet', 'No progress on stderr')
        .option('--name <name>', NAME_HELP, { type: [String] })
        .example('polythene pull docker.io/library/busybox:latest')
        .example('polythene pull --name dev docker.io/library/debian:12')
        .example('polythene pull oci-archive:./image.tar --pull never')
        .action((image: string, options: RawOptions) =>
          setOutcome(
            import('./commands/pull/pull-command.ts').then((m) => m.pullCommand(image, options)),
          ),
        ),
  },
  {
    names: ['exec'],
    register: (cli, setOutcome) =>
      withOptions(
        cli.command(
          'exec <entry> [...command]',
          'Run a command inside a root filesystem (put it after --)',
        ),
        EXEC_OPTIONS,
      )
        .example('polythene exec 0190f5c2-… -- uname -a')
        .example('polythene exec 0190f5c2-… --workspace --env CI -- make test')
        .action((uuid: string, command: string[], options: RawOptions) =>
          setOutcome(execCommand(uuid, command, options)),
        ),
  },
  {
    names: ['shell'],
    register: (cli, setOutcome) =>
      withOptions(
        cli.command(
          'shell <entry> [...command]',
          "Open the image's shell (bash, else sh) on a terminal of its own, or run a command so",
        ),
        SHELL_OPTIONS,
      )
        .example('polythene shell 0190f5c2-…')
        .example('polythene shell 0190f5c2-… -- top')
        .action((uuid: string, command: string[], options: RawOptions) =>
          setOutcome(
            import('./commands/shell/shell-command.ts').then((m) =>
              m.shellCommand(uuid, command, options),
            ),
          ),
        ),
  },
  {
    names: ['clone'],
    register: (cli, setOutcome) =>
      cli
        .command('clone <entry>', 'Copy an entry into a new one and print its UUID')
        .option('--method <method>', 'overlay (constant time), copy (full), or auto (default)')
        .option('--json', "Print the new entry's metadata")
        .option(
          '--backend-module <module>',
          'Consider a custom backend for --method auto (repeatable)',
        )
        .option('--name <name>', NAME_HELP, { type: [String] })
        .example('polythene clone 0190f5c2-…')
        .example('polythene clone dev --name dev-try')
        .action((uuid: string, options: RawOptions) =>
          setOutcome(
            import('./commands/clone/clone-command.ts').then((m) => m.cloneCommand(uuid, options)),
          ),
        ),
  },
  {
    names: ['diff'],
    register: (cli, setOutcome) =>
      cli
        .command('diff <entry>', 'Show what changed in an entry since it was pulled or cloned')
        .option('--json', 'Print {added, modified, deleted}')
        .action((uuid: string, options: RawOptions) =>
          setOutcome(
            import('./commands/diff/diff-command.ts').then((m) => m.diffCommand(uuid, options)),
          ),
        ),
  },
  {
    names: ['list', 'ls'],
    register: (cli, setOutcome) =>
      cli
        .command('list', 'List the root filesystems in the store')
        .alias('ls')
        .option('--json', 'Print a JSON array')
        .option(
          '--filter <key=pattern>',
          'Only entries whose name= or image= matches (* wildcard; repeatable)',
          {
            type: [String],
          },
        )
        .example('polythene list --filter name=dev*')
        .action((options: RawOptions) =>
          setOutcome(import('./commands/list/list-command.ts').then((m) => m.listCommand(options))),
        ),
  },
  {
    names: ['rename'],
    register: (cli, setOutcome) =>
      cli
        .command('rename <entry> <name>', 'Give an entry (UUID or name) a new name, its only one')
        .example('polythene rename 0190f5c2-… dev')
        .action((entry: string, name: string, options: RawOptions) =>
          setOutcome(
            import('./commands/rename/rename-command.ts').then((m) =>
              m.renameCommand(String(entry), String(name), options),
            ),
          ),
        ),
  },
  {
    names: ['commit'],
    register: (cli, setOutcome) =>
      cli
        .command(
          'commit <entry> <image>',
          "Write an entry's tree as an image into podman's storage",
        )
        .option(
          '--change <instruction>',
          'Edit the config like podman: ENV, WORKDIR, USER, ENTRYPOINT, CMD, LABEL, EXPOSE, VOLUME, STOPSIGNAL (repeatable)',
          {
            type: [String],
          },
        )
        .option(
          '--archive <transport:path>',
          'Write the image to oci-archive:PATH or docker-archive:PATH instead of podman storage',
          {
            type: [String],
          },
        )
        .option('--json', 'Print {id, image, imageId}')
        .example('polythene commit dev localhost/team/dev:ci --change "ENV CI=1"')
        .action((entry: string, image: string, options: RawOptions) =>
          setOutcome(
            import('./commands/commit/commit-command.ts').then((m) =>
              m.commitCommand(String(entry), String(image), options),
            ),
          ),
        ),
  },
  {
    names: ['save'],
    register: (cli, setOutcome) =>
      cli
        .command(
          'save <entry>',
          'Write an entry (UUID, metadata, tree) to an archive file for load',
        )
        .option('-o, --output <file>', 'The archive: .tar, or .tar.zst / .tar.gz to compress', {
          type: [String],
        })
        .option('--json', 'Print {id, path, sizeBytes}')
        .example('polythene save dev -o dev.tar.zst')
        .action((entry: string, options: RawOptions) =>
          setOutcome(
            import('./commands/save/save-command.ts').then((m) =>
              m.saveCommand(String(entry), options),
            ),
          ),
        ),
  },
  {
    names: ['load'],
    register: (cli, setOutcome) =>
      cli
        .command('load <file>', 'Load an archive written by save, keeping its UUID; print the UUID')
        .option('--json', 'Print {id, isNew}')
        .example('polythene load dev.tar.zst')
        .action((file: string, options: RawOptions) =>
          setOutcome(
            import('./commands/load/load-command.ts').then((m) =>
              m.loadCommand(String(file), options),
            ),
          ),
        ),
  },
  {
    names: ['inspect'],
    register: (cli, setOutcome) =>
      cli
        .command('inspect <entry>', "Print an entry's recorded metadata as JSON")
        .action((uuid: string, options: RawOptions) =>
          setOutcome(
            import('./commands/inspect/inspect-command.ts').then((m) =>
              m.inspectCommand(uuid, options),
            ),
          ),
        ),
  },
  {
    names: ['rm', 'remove'],
    register: (cli, setOutcome) =>
      cli
        .command('rm <...entries>', 'Remove root filesystems from the store')
        .alias('remove')
        .option(
          '--force',
          'Stop the commands and the running boxes in them first (as --timeout does)',
        )
        .action((uuids: string[], options: RawOptions) =>
          setOutcome(
            import('./commands/rm/rm-command.ts').then((m) => m.rmCommand(uuids, options)),
          ),
        ),
  },
  {
    names: ['prune'],
    register: (cli, setOutcome) =>
      cli
        .command('prune', 'Remove old entries, orphans and stale temporaries')
        .option('--older-than <duration>', 'Only entries older than this (e.g. 7d, 12h, 30m)')
        .option('--json', 'Print what was removed as JSON')
        .example('polythene prune --older-than 7d')
        .action((options: RawOptions) =>
          setOutcome(
            import('./commands/prune/prune-command.ts').then((m) => m.pruneCommand(options)),
          ),
        ),
  },
  {
    names: ['doctor'],
    register: (cli, setOutcome) =>
      cli
        .command('doctor', 'Check what decides what polythene can do here, with the fix for each')
        .option('--fix', 'Apply the narrow fixes (AppArmor profile, subordinate ids), saying each')
        .option('--json', 'Print {ok, checks} as JSON')
        .option('--backend-module <module>', 'Also check a custom backend (repeatable)')
        .example('polythene doctor')
        .example('polythene doctor --fix')
        .action((options: RawOptions) =>
          setOutcome(
            import('./commands/doctor/doctor-command.ts').then((m) => m.doctorCommand(options)),
          ),
        ),
  },
  ...BOX_COMMANDS,
  {
    names: ['backends'],
    register: (cli, setOutcome) =>
      cli
        .command('backends', 'Show every backend: available here or why not, and what it enforces')
        .option('--json', 'Print a JSON array')
        .option('--backend-module <module>', 'Also show a custom backend (repeatable)')
        .action((options: RawOptions) =>
          setOutcome(
            import('./commands/backends/backends-command.ts').then((m) =>
              m.backendsCommand(options),
            ),
          ),
        ),
  },
];

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
    cli.parse(['node', 'polythene', ...argv], { run: false });
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
  cli.parse(['node', 'polythene', 'exec', ...argv], { run: false });
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
