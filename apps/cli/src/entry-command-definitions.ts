import { type CommandDefinition, NAME_HELP } from './command-options.ts';
import type { RawOptions } from './normalize-options.ts';

/** The commands that manage entries, from clone to prune, in the order `--help` lists them. */
export const ENTRY_COMMANDS: readonly CommandDefinition[] = [
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
];
