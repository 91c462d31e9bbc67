import {
  type CommandDefinition,
  EXEC_OPTIONS,
  NAME_HELP,
  SHELL_OPTIONS,
  withOptions,
} from './command-options.ts';
import { BOX_COMMANDS } from './commands/boxes/box-command-definitions.ts';
import { execCommand } from './commands/exec/exec-command.ts';
import { ENTRY_COMMANDS } from './entry-command-definitions.ts';
import type { RawOptions } from './normalize-options.ts';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandDefinition[] = [
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
  ...ENTRY_COMMANDS,
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
