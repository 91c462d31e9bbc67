import { dirname } from 'node:path';
import type { TestUser } from './fixture-types.ts';

const systemPath = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';

/**
 * The clean base environment for commands run as the test user: HOME, USER, LOGNAME, PATH
 * (system dirs plus the directory of the running `node`), XDG_RUNTIME_DIR
 * (`/run/user/<uid>`, which rootless podman needs) and `LANG=C.UTF-8`. Nothing else from the
 * caller leaks in.
 */
export function testUserEnv(user: TestUser): Record<string, string> {
  const nodeDir = dirname(process.execPath);
  const path = systemPath.split(':').includes(nodeDir) ? systemPath : `${nodeDir}:${systemPath}`;
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    PATH: path,
    XDG_RUNTIME_DIR: testUserRuntimeDir(user),
    LANG: 'C.UTF-8',
  };
}

/** `/run/user/<uid>`: the runtime dir {@link ensureTestUser} creates for the test user. */
export function testUserRuntimeDir(user: TestUser): string {
  return `/run/user/${user.uid}`;
}
