import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { ensureTestImages } from './ensure-test-images.ts';
import type { LoopbackRegistry } from './fixture-types.ts';
import { runPodman } from './run-podman.ts';

const startTimeoutMs = 15_000;
const stopGraceMs = 5_000;

/**
 * Starts Debian's `docker-registry` on a free 127.0.0.1 port with storage in a fresh temp dir,
 * waits until `/v2/` answers, pushes the current user's busybox test image to it (building
 * that first with {@link ensureTestImages}) and returns where it is plus `podmanEnv`
 * (`CONTAINERS_REGISTRIES_CONF`, which podman 4.3 honours) marking it insecure. Works as root
 * and as an unprivileged user. Call `stop()` when done: it kills the server and removes its
 * storage.
 */
export async function startLoopbackRegistry(
  options: StartLoopbackRegistryOptions = {},
): Promise<LoopbackRegistry> {
  const images = await ensureTestImages();
  const workDir = await mkdtemp(join(tmpdir(), 'polythene-registry-'));
  const credentials = options.requireAuth
    ? { user: 'polythene', password: 'polythene-test' }
    : undefined;
  // Readable by others so the test user can use the registries.conf a root test wrote.
  await chmod(workDir, 0o755);
  let server: ResultPromise | undefined;
  try {
    let host = '';
    for (let attempt = 1; server === undefined; attempt++) {
      const port = await findFreePort();
      host = `127.0.0.1:${port}`;
      try {
        server = (await launchRegistry(workDir, host, credentials)).server;
      } catch (error) {
        // Another process may take the port between our probe and the server's bind.
        if (attempt >= 3) throw error;
      }
    }
    const registriesConfPath = join(workDir, 'registries.conf');
    await writeFile(registriesConfPath, `[[registry]]\nlocation = "${host}"\ninsecure = true\n`, {
      mode: 0o644,
    });
    const podmanEnv = { CONTAINERS_REGISTRIES_CONF: registriesConfPath };
    const busyboxRef = `${host}/polythene-test/busybox:latest`;
    await runPodman(
      [
        'push',
        '--quiet',
        '--tls-verify=false',
        ...(credentials ? ['--creds', `${credentials.user}:${credentials.password}`] : []),
        images.busybox,
        `docker://${busyboxRef}`,
      ],
      {
        env: podmanEnv,
      },
    );
    const running = server;
    let stopped: Promise<void> | undefined;
    return {
      host,
      busyboxRef,
      podmanEnv,
      ...(credentials ? { credentials } : {}),
      stop: () => {
        stopped ??= stopRegistry(running, workDir, host);
        return stopped;
      },
    };
  } catch (error) {
    if (server) await stopRegistry(server, workDir);
    else await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

// Wrapped in an object: a subprocess is a thenable, and returning it bare from an async
// function would wait for the server to exit.
async function launchRegistry(
  workDir: string,
  host: string,
  credentials: { user: string; password: string } | undefined,
): Promise<{ server: ResultPromise }> {
  const storageDir = join(workDir, 'storage');
  await mkdir(storageDir, { recursive: true, mode: 0o700 });
  const htpasswdPath = join(workDir, 'htpasswd');
  if (credentials) {
    await writeFile(htpasswdPath, `${await hashBcrypt(credentials.user, credentials.password)}\n`);
  }
  const configPath = join(workDir, 'config.yml');
  await writeFile(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storageDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      ...(credentials
        ? ['auth:', '  htpasswd:', '    realm: polythene-test', `    path: ${htpasswdPath}`]
        : []),
      '',
    ].join('\n'),
  );
  // cleanup (execa default) kills the server if this process exits without stop().
  const server = execa('docker-registry', ['serve', configPath], {
    stdin: 'ignore',
    reject: false,
    buffer: { stdout: false, stderr: true },
    stdout: 'ignore',
    forceKillAfterDelay: stopGraceMs,
  });
  let exited = false;
  void server.then(() => {
    exited = true;
  });
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      const result = await server;
      const reason =
        result.code === 'ENOENT'
          ? 'docker-registry is not installed (apt-get install docker-registry)'
          : result.stderr.trim().split('\n').slice(-3).join(' | ');
      throw new Error(`docker-registry on ${host} exited before answering: ${reason}`);
    }
    try {
      const response = await fetch(`http://${host}/v2/`);
      // With auth on, an unauthenticated /v2/ answers 401: the server is up all the same.
      if (response.ok || (credentials && response.status === 401)) return { server };
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  server.kill('SIGKILL');
  await server;
  throw new Error(`docker-registry on ${host} did not answer /v2/ within ${startTimeoutMs} ms`);
}

async function stopRegistry(server: ResultPromise, workDir: string, host?: string): Promise<void> {
  // Whatever this user pulled from it (or tagged for it) goes too: its port dies with it, so
  // such names would only pile up in podman's storage, one per test run.
  if (host !== undefined) await untagRegistryImages(host);
  if (server.exitCode === null) {
    // execa follows up with SIGKILL after `forceKillAfterDelay` (set at spawn).
    server.kill('SIGTERM');
    await server;
  }
  await rm(workDir, { recursive: true, force: true });
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Options for {@link startLoopbackRegistry}. */
export interface StartLoopbackRegistryOptions {
  /**
   * Require HTTP basic authentication (htpasswd, as registries in the wild do); the image is
   * pushed with the credentials returned in {@link LoopbackRegistry.credentials}.
   */
  readonly requireAuth?: boolean;
}

// docker-registry's htpasswd wants bcrypt, which Node lacks: Apache's htpasswd (Debian's
// apache2-utils, installed by tooling/scripts/setup.sh) makes the line.
async function hashBcrypt(user: string, password: string): Promise<string> {
  const { stdout } = await execa('htpasswd', ['-nbB', user, password], { stdin: 'ignore' }).catch(
    (error: unknown) => {
      throw new Error(
        'htpasswd is needed for a registry with authentication (apt-get install apache2-utils)',
        {
          cause: error,
        },
      );
    },
  );
  return stdout.trim();
}

/** Removes this user's local image names under `host/` (the images stay if otherwise named). */
async function untagRegistryImages(host: string): Promise<void> {
  const listed = await execa('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}'], {
    reject: false,
  });
  const names = listed.stdout.split('\n').filter((name) => name.startsWith(`${host}/`));
  if (names.length > 0) await execa('podman', ['rmi', '--ignore', ...names], { reject: false });
}
