import { isAbsolute, resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import type { BoxBind, BoxOptions } from './box-types.ts';

/** A box's binds as `exec` takes them: `SRC:DEST:ro|rw` strings, sources made absolute. */
export interface ResolvedBoxBinds {
  readonly binds: readonly string[];
  readonly workspace: string | undefined;
}

/**
 * Checks and resolves `image.box({ binds, workspace })` once, when the box is made, so a
 * mistake fails there and not at the first `exec`. Binds are read-only unless they say
 * `rw` (`readOnly: false`): a test reads its fixtures and should not change the host.
 * Relative host paths are taken from the current directory.
 */
export function resolveBoxBinds(options: BoxOptions, cwd: string): ResolvedBoxBinds {
  const binds = (options.binds ?? []).map((bind) => toBindFlag(bind, cwd));
  const workspace =
    options.workspace === undefined
      ? undefined
      : resolve(cwd, options.workspace === true ? '.' : options.workspace);
  return { binds, workspace };
}

function toBindFlag(bind: BoxBind, cwd: string): string {
  const { source, target, readOnly } =
    typeof bind === 'string' ? parseBindText(bind) : { readOnly: true, ...bind };
  if (!source || !target || !isAbsolute(target) || source.includes(':') || target.includes(':')) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `box bind ${JSON.stringify(bind)}: expected a host path and an absolute path in the box, without ':'`,
    );
  }
  return `${resolve(cwd, source)}:${target}:${readOnly ? 'ro' : 'rw'}`;
}

function parseBindText(text: string): { source: string; target: string; readOnly: boolean } {
  const [source = '', target = '', mode, ...rest] = text.split(':');
  if (rest.length > 0 || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `box bind ${JSON.stringify(text)}: expected SRC:DEST, SRC:DEST:ro or SRC:DEST:rw`,
    );
  }
  return { source, target, readOnly: mode !== 'rw' };
}
