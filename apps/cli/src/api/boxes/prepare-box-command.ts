import {
  type BoxHolder,
  type BoxRecord,
  findBox,
  touchLastUsed,
} from '@polythene/core/internal/boxes/box-state';
import { buildCommandEnvironment } from '@polythene/core/internal/exec/command-environment';
import { createRootResolver } from '@polythene/core/internal/exec/root-view';
import { resolveRootfsUser } from '@polythene/core/internal/exec/rootfs-user';
import { openStoreFromOptions, type StoreOptions } from '@polythene/core/internal/store-options';
import { PolytheneError } from '@polythene/errors';
import { requireNativeHelper } from '@polythene/native';
import {
  assertCommandGiven,
  CONTAINER_DEFAULT_CAPABILITIES,
  joinRunCgroupsOf,
  type SpawnHooks,
  toCapabilityMask,
} from '@polythene/probe';
import { BOX_HELPER } from './box-helper.ts';

/** What a command in a running box is: shared by `exec --in` and the testkit's `spawn`. */
export interface BoxCommandOptions extends StoreOptions {
  /** The running box: its id or name. */
  readonly box: string;
  /** The command as an argv, looked up on the box's PATH; no shell is involved. */
  readonly command: readonly string[];
  /** Leave it running in the background, its output appended to the box's log. */
  readonly detach?: boolean;
  /** `KEY=VALUE` or `KEY`, over the image's and the box's. */
  readonly env?: readonly string[];
  /** Working directory in the box; default the box's, else the image's, else `/`. */
  readonly workdir?: string;
  /**
   * `USER[:GROUP]`; default the box's. Root gets the container capability set in a box with a
   * user namespace of its own; a box whose user namespace maps one id has only its own user.
   */
  readonly user?: string;
}

/** The helper's command line that runs a command inside the box, and what it runs in. */
export interface PreparedBoxCommand {
  readonly storeDir: string;
  readonly record: BoxRecord;
  readonly holder: BoxHolder;
  /** `polythene-box` on the host. */
  readonly helper: string;
  /** Its `enter …` arguments. */
  readonly args: readonly string[];
  /** The command's whole environment (the helper passes its own on). */
  readonly env: Readonly<Record<string, string>>;
  readonly uid: number;
  readonly gid: number;
  readonly cwd: string;
  /** Start the helper in the box's run cgroups (its limits hold the command too). */
  readonly spawnHooks: SpawnHooks | undefined;
}

/**
 * Finds the running box and works out the command's user, environment and working directory
 * as `exec` would (the image's config, then the box's, then the options), reading the box's
 * own root. An unknown or stopped box is a `POLYTHENE_BOX_NOT_FOUND` (exit 1).
 */
export async function prepareBoxCommand(options: BoxCommandOptions): Promise<PreparedBoxCommand> {
  assertCommandGiven(options.command, 'polythene exec --in BOX -- CMD [ARG…]');
  const store = await openStoreFromOptions(options, false);
  const box = await findBox(store.dir, options.box);
  const { holder, record } = box;
  if (holder === undefined || box.state !== 'running') {
    throw new PolytheneError('POLYTHENE_BOX_NOT_FOUND', `box ${options.box} is still starting`);
  }
  const { metadata } = await store.entryLayersAndMetadata(record.entry);
  const config = metadata?.config ?? { env: [] };
  // The box as its processes see it: its own root, read through the holder's.
  const resolveInRoot = createRootResolver([`/proc/${holder.pid}/root`]);
  const user = await resolveRootfsUser(
    resolveInRoot,
    options.user ?? record.user ?? emptyToUndefined(config.user),
  );
  const env = buildCommandEnvironment({
    imageEnv: config.env,
    envFlags: [...(record.env ?? []), ...(options.env ?? [])],
    hostEnv: options.hostEnv ?? process.env,
    home: user.home,
    userName: user.name,
  });
  const cwd = options.workdir ?? record.workdir ?? emptyToUndefined(config.workingDir) ?? '/';
  if (!cwd.startsWith('/')) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--workdir ${cwd}: must be an absolute path inside the box`,
    );
  }
  const helper = requireNativeHelper(BOX_HELPER, 'entering a running box (exec --in)');
  const args = [
    'enter',
    '--pid',
    String(holder.pid),
    '--start-time',
    String(holder.startTime),
    '--uid',
    String(user.uid),
    '--gid',
    String(user.gid),
    '--cwd',
    cwd,
    // In-box root holds the container set, as in a fresh exec (a box without a user namespace
    // of its own gets none: the helper knows).
    '--caps',
    toCapabilityMask(CONTAINER_DEFAULT_CAPABILITIES),
    ...(options.detach === true ? ['--detach'] : []),
    '--',
    ...options.command,
  ];
  await touchLastUsed(store.dir, record.id);
  return {
    storeDir: store.dir,
    record,
    holder,
    helper,
    args,
    env,
    uid: user.uid,
    gid: user.gid,
    cwd,
    spawnHooks: joinRunCgroupsOf(holder.pid),
  };
}

/** The exec guard's command line in front of `helper args`: no inherited fd, no keyring. */
export function guardedCommandLine(
  helper: string,
  args: readonly string[],
): { readonly file: string; readonly args: string[] } {
  const guard = requireNativeHelper(
    'polythene-exec-guard',
    "that the command receives no inherited file descriptor and no key of the caller's keyrings",
  );
  return { file: guard, args: ['--keyring', '--', helper, ...args] };
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
