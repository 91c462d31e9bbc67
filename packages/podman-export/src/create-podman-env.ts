/**
 * The environment podman runs with: the given host environment plus Polythene's podman
 * defaults, `CONTAINERS_STORAGE_DRIVER=vfs` and `CONTAINERS_EVENTS_BACKEND=file`, each set
 * only when unset or empty (a caller's value wins). Entries whose value is `undefined` are
 * dropped. Pure: the input is not modified.
 *
 * Podman 4.3 itself reads neither variable (it follows `storage.conf`, `containers.conf`,
 * `STORAGE_DRIVER` is not read either); they are kept for the contract of the Python tool and
 * for wrappers and newer podman versions that honour them.
 */
export function createPodmanEnv(
  hostEnv: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(hostEnv)) {
    if (value !== undefined) {
      env[name] = value;
    }
  }
  if (!env.CONTAINERS_STORAGE_DRIVER) {
    env.CONTAINERS_STORAGE_DRIVER = 'vfs';
  }
  if (!env.CONTAINERS_EVENTS_BACKEND) {
    env.CONTAINERS_EVENTS_BACKEND = 'file';
  }
  return env;
}
