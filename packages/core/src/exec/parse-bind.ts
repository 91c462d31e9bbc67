import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import type { BindMount } from '@polythene/probe';

/** Where `--workspace` mounts the project directory inside the rootfs. */
export const WORKSPACE_TARGET = '/workspace';

/**
 * Parses `--bind SRC:DEST[:ro|:rw]`. SRC is a host path (relative to `cwd`) that must exist;
 * DEST is absolute inside the rootfs.
 */
export function parseBind(text: string, cwd: string): BindMount {
  const parts = text.split(':');
  const mode = parts.length === 3 ? parts.pop() : undefined;
  const [source, target] = parts;
  if (
    parts.length !== 2 ||
    !source ||
    !target ||
    (mode !== undefined && mode !== 'ro' && mode !== 'rw')
  ) {
    throw new PolytheneError('POLYTHENE_USAGE', `--bind ${text}: expected SRC:DEST or SRC:DEST:ro`);
  }
  if (!isAbsolute(target)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--bind ${text}: DEST must be an absolute path inside the rootfs`,
    );
  }
  return {
    source: existingHostPath(source, cwd, `--bind ${text}`),
    target,
    readOnly: mode === 'ro',
  };
}

/** `--workspace [DIR]`: DIR (default: the current directory) read-write at /workspace. */
export function workspaceBind(dir: string | true, cwd: string): BindMount {
  const source = existingHostPath(dir === true ? '.' : dir, cwd, '--workspace');
  return { source, target: WORKSPACE_TARGET, readOnly: false };
}

function existingHostPath(path: string, cwd: string, flag: string): string {
  const absolute = resolve(cwd, path);
  if (!existsSync(absolute)) {
    throw new PolytheneError('POLYTHENE_USAGE', `${flag}: ${absolute} does not exist on the host`);
  }
  return absolute;
}
