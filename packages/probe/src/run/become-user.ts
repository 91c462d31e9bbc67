import { basename, dirname } from 'node:path';
import { requireNativeHelper } from '@polythene/native';
import { CONTAINER_DEFAULT_CAPABILITIES, toCapabilityMask } from '../ids/container-capabilities.ts';
import { BOX_HELPERS_DIR } from './terminal-relay.ts';

/** The native helper that becomes the command's user inside the box (`native/polythene-become.c`). */
export const BECOME_HELPER = 'polythene-become';

/** A command that becomes its user inside the box, and the helpers' directory it needs bound. */
export interface BecomeUserCommand {
  /** The argv to run in the box instead of the command's. */
  readonly argv: string[];
  /** The host directory to bind read-only at {@link BOX_HELPERS_DIR}. */
  readonly hostDir: string;
}

/**
 * For a box whose backend runs as root of the box's user namespace (every in-box id mapped):
 * the argv that starts `argv` as `uid:gid` with no capability, the bounding set narrowed to
 * `capabilities` (default podman's 11), as a container's non-root user. The helper runs from
 * polythene's helpers' directory, bound read-only into the run's own `/dev`; a missing helper
 * is a `POLYTHENE_SETUP_FAILED` error naming what it costs.
 */
export function wrapCommandToBecomeUser(
  argv: readonly string[],
  user: { readonly uid: number; readonly gid: number; readonly capabilities?: readonly string[] },
  env: Readonly<Record<string, string | undefined>> = process.env,
): BecomeUserCommand {
  const hostPath = requireNativeHelper(
    BECOME_HELPER,
    'that a non-root --user sees every in-box owner and holds no capability',
    env,
  );
  const mask = toCapabilityMask(user.capabilities ?? CONTAINER_DEFAULT_CAPABILITIES);
  return {
    hostDir: dirname(hostPath),
    argv: [
      `${BOX_HELPERS_DIR}/${basename(hostPath)}`,
      '--caps',
      mask,
      '--uid',
      String(user.uid),
      '--gid',
      String(user.gid),
      '--',
      ...argv,
    ],
  };
}
