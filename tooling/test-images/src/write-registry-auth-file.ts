import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoopbackRegistry } from './fixture-types.ts';

/** Where {@link writeRegistryAuthFile} wrote the login, and podman's environment to use it. */
export interface RegistryAuthFile {
  /** A fresh directory holding `auth.json`; the caller removes it. */
  readonly dir: string;
  /** The registry's `podmanEnv` plus `REGISTRY_AUTH_FILE` pointing at the file. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Writes a podman login for `registry` (its credentials, if it requires any) to a fresh
 * `auth.json` that every user may read, so root and the test user push and pull with it.
 */
export async function writeRegistryAuthFile(registry: LoopbackRegistry): Promise<RegistryAuthFile> {
  const dir = await mkdtemp(join(tmpdir(), 'polythene-auth-'));
  await chmod(dir, 0o755);
  const file = join(dir, 'auth.json');
  const { user, password } = registry.credentials ?? { user: '', password: '' };
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  await writeFile(file, JSON.stringify({ auths: { [registry.host]: { auth } } }));
  await chmod(file, 0o644);
  return { dir, env: { ...registry.podmanEnv, REGISTRY_AUTH_FILE: file } };
}
