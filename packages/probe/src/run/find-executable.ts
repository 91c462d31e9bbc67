import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/**
 * Finds `name` on the `PATH` of `hostEnv` (or checks it, when absolute) and returns its
 * absolute path, or `undefined` when there is no executable file by that name. Backends spawn
 * the absolute path, so the command's environment never needs the host's `PATH`.
 */
export function findExecutable(
  name: string,
  hostEnv: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (isAbsolute(name)) return isExecutableFile(name) ? name : undefined;
  const path = hostEnv.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  for (const dir of path.split(':')) {
    // An empty PATH entry means the current directory: never trust it for a sandbox tool.
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
