/**
 * The environment podman runs with: the given host environment plus Polythene's podman
 * defaults, `CONTAINERS_STORAGE_DRIVER=vfs` and `CONTAINERS_EVENTS_BACKEND=file`, each set
 * only when unset or empty (a caller's value wins). Entries whose value is `undefined` are
 * dropped. Pure: the input is not modified.
 *
 * Measured with podman 4.3.1 (Debian 12): podman reads neither variable (the names do not
 * occur in its binary). Root storage stays `overlay` with or without them, on existing and on
 * fresh storage; rootless storage is whatever `storage.conf` or the first run chose (`vfs` on
 * Debian without a storage.conf). What podman 4.3 does honour: `STORAGE_DRIVER` (rootless
 * only, and only before the storage exists), `CONTAINERS_STORAGE_CONF`, and the
 * `--storage-driver` / `--events-backend` flags. They are kept for the Python tool's contract
 * and for podman versions or wrappers that read them.
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
