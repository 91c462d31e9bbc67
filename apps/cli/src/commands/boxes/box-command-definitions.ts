import type { CAC } from 'cac';
import type { RawOptions } from '../../normalize-options.ts';

type Register = (cli: CAC, setOutcome: (outcome: Promise<number>) => void) => void;

/** `start`, `ps`, `stop` and `logs`, listed in command-definitions.ts beside the other commands. */
export const BOX_COMMANDS: readonly {
  readonly names: readonly string[];
  readonly register: Register;
}[] = [
  {
    names: ['start'],
    register: (cli, setOutcome) =>
      cli
        .command('start <uuid>', 'Start a box that stays up on an entry and print its id')
        .option('--name <name>', 'A name for exec --in, stop and logs (box names are their own)')
        .option('--expire-after <duration>', 'End the box once idle this long (e.g. 30s, 10m)')
        .option('--isolation <backend>', 'Backend: bwrap or chroot (proot cannot hold a box)')
        .option('--env <KEY[=VALUE]>', 'Set a variable for the box (repeatable)')
        .option('--workdir <dir>', 'Working directory in the box')
        .option('--user <user[:group]>', 'User in the box')
        .option('--bind <src:dest[:ro]>', 'Bind a host path into the box (repeatable)')
        .option('--network <mode>', 'none (default), host, or private (slirp4netns), for the box')
        .option('-p, --publish <HOST_PORT:BOX_PORT>', 'With --network private (repeatable)')
        .option('--memory <size>', 'Memory limit of the whole box, e.g. 512m')
        .option('--cpus <n>', 'CPU limit of the whole box in CPUs (e.g. 0.5)')
        .option('--pids-limit <n>', 'Cap on the processes of the whole box (default 4096)')
        .option('--json', 'Print {id, name, backend}')
        .example('polythene start 0190… --name web --expire-after 10m')
        .action((uuid: string, options: RawOptions) =>
          setOutcome(import('./start-command.ts').then((m) => m.startCommand(uuid, options))),
        ),
  },
  {
    names: ['ps'],
    register: (cli, setOutcome) =>
      cli
        .command('ps', 'List the running boxes')
        .option('--json', 'Print a JSON array')
        .action((options: RawOptions) =>
          setOutcome(import('./ps-command.ts').then((m) => m.psCommand(options))),
        ),
  },
  {
    names: ['stop'],
    register: (cli, setOutcome) =>
      cli
        .command('stop <...boxes>', 'Stop boxes: SIGTERM, a grace period, SIGKILL, clean-up')
        .option('--time <seconds>', 'Grace period before SIGKILL (default 5)')
        .action((boxes: string[], options: RawOptions) =>
          setOutcome(import('./stop-command.ts').then((m) => m.stopCommand(boxes, options))),
        ),
  },
  {
    names: ['logs'],
    register: (cli, setOutcome) =>
      cli
        .command('logs <box>', "Print a box's log: its detached processes' output")
        .option('--follow', 'Keep printing until the box ends')
        .action((box: string, options: RawOptions) =>
          setOutcome(import('./logs-command.ts').then((m) => m.logsCommand(box, options))),
        ),
  },
];
