import type { CAC } from 'cac';

/** What a command action resolves to: the process exit code. */
export type CommandOutcome = Promise<number>;

/** One command: the words that name it, and how it is set up on the cac instance. */
export interface CommandDefinition {
  readonly names: readonly string[];
  readonly register: (cli: CAC, setOutcome: (outcome: CommandOutcome) => void) => void;
}

/** A flag as cac takes it (`--name`, `--name <value>` or `--name [value]`) and its help text. */
export type OptionDefinition = readonly [flag: string, description: string];

export const STORE_OPTION: OptionDefinition = [
  '-s, --store <dir>',
  'Store directory (env POLYTHENE_STORE, default /var/tmp/polythene)',
];

// exec's, not shell's (which always runs on a terminal, with input). No short forms: -t and
// -i are --timeout and --isolation, as in the Python tool.
export const TERMINAL_OPTIONS: readonly OptionDefinition[] = [
  ['--tty', 'Run the command on a terminal of its own (podman -t; not with --json)'],
  ['--interactive', 'With --tty: forward stdin to that terminal (podman -i)'],
];

// One list for exec's cac registration and its fast parse (see parseExecArgv).
export const EXEC_OPTIONS: readonly OptionDefinition[] = [
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
export const SHELL_OPTIONS: readonly OptionDefinition[] = EXEC_OPTIONS.filter(
  ([flag]) =>
    !TERMINAL_OPTIONS.some(([terminalFlag]) => terminalFlag === flag) &&
    !flag.startsWith('--json') &&
    !flag.startsWith('--max-output'),
);

/** Every flag `exec` takes, for `parseExecArgv`. */
export const EXEC_FLAGS: readonly string[] = [STORE_OPTION, ...EXEC_OPTIONS].map(([flag]) => flag);

export function withOptions<T extends { option(flag: string, description: string): T }>(
  target: T,
  options: readonly OptionDefinition[],
): T {
  for (const [flag, description] of options) target.option(flag, description);
  return target;
}

export const NAME_HELP =
  'Name the new entry: 1-64 letters, digits, ".", "_", "-", starting with a letter or digit';
