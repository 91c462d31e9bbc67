import { spawn } from 'node:child_process';
import { PolytheneError } from '@polythene/errors';
import { createPodmanEnv, validateImageRef } from '@polythene/podman-export';
import {
  assertEntryRef,
  type ImageConfig,
  resolveEntryRef,
  userNamespacePrefix,
} from '@polythene/store';
import { openStoreFromOptions, type StoreOptions } from '../store-options.ts';
import { withEntryTree } from './entry-archive.ts';

/** Options for {@link commit}. */
export interface CommitOptions extends StoreOptions {
  /**
   * Dockerfile-style edits applied after the recorded config, like `podman commit --change`:
   * `ENV KEY=value`, `WORKDIR /dir`, `USER uid:gid`, `ENTRYPOINT ["…"]`, `CMD ["…"]`, `LABEL k=v`.
   */
  readonly changes?: readonly string[];
  /**
   * `oci-archive:PATH` or `docker-archive:PATH`: also write the image to that file
   * (`podman save`). The image is imported into podman's storage first and stays there.
   */
  readonly archive?: string;
}

/** What {@link commit} made. */
export interface CommitResult {
  /** The entry committed. */
  readonly id: string;
  /** The image reference written. */
  readonly image: string;
  /** The new image's id in podman's storage. */
  readonly imageId: string;
}

/** The recorded config as `podman import --change` instructions. */
export function configChanges(config: ImageConfig | undefined): string[] {
  if (config === undefined) return [];
  const changes: string[] = [];
  for (const pair of config.env) {
    const equals = pair.indexOf('=');
    if (equals > 0)
      changes.push(`ENV ${pair.slice(0, equals)}=${JSON.stringify(pair.slice(equals + 1))}`);
  }
  if (config.workingDir) changes.push(`WORKDIR ${config.workingDir}`);
  if (config.user) changes.push(`USER ${config.user}`);
  if (config.entrypoint) changes.push(`ENTRYPOINT ${JSON.stringify(config.entrypoint)}`);
  if (config.cmd) changes.push(`CMD ${JSON.stringify(config.cmd)}`);
  return changes;
}

/**
 * Writes entry `ref`'s tree (an overlay clone's layers merged) as a new one-layer image
 * `image` into podman's storage, with the entry's recorded Env, WorkingDir, User,
 * Entrypoint and Cmd, then `changes`. Owners (numeric), modes and setuid bits are kept.
 * Push it with `podman push`.
 */
export async function commit(
  ref: string,
  image: string,
  options: CommitOptions = {},
): Promise<CommitResult> {
  assertEntryRef(ref);
  const imageRef = validateImageRef(image);
  if (/^(oci-archive|docker-archive|oci|dir|containers-storage):/.test(imageRef))
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `commit writes into podman's storage: give a plain reference like localhost/name:tag, not a transport (got ${imageRef})`,
    );
  const store = await openStoreFromOptions(options, false);
  const id = resolveEntryRef(store.dir, ref);
  const entry = await store.getEntry(id);
  const changes = [...configChanges(entry.metadata?.config), ...(options.changes ?? [])];
  const imageId = await withEntryTree(store, id, (rootfs) =>
    importTree(
      rootfs,
      imageRef.replace(/^docker:\/\//, ''),
      changes,
      options.hostEnv ?? process.env,
    ),
  );
  if (options.archive !== undefined)
    await saveArchive(
      imageRef.replace(/^docker:\/\//, ''),
      options.archive,
      options.hostEnv ?? process.env,
    );
  return { id, image: imageRef, imageId };
}

async function saveArchive(
  image: string,
  archive: string,
  hostEnv: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const match = /^(oci-archive|docker-archive):(.+)$/.exec(archive);
  if (match === null)
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--archive takes oci-archive:PATH or docker-archive:PATH (got ${JSON.stringify(archive)})`,
    );
  const [, transport, path] = match as unknown as [string, string, string];
  const format = transport === 'oci-archive' ? 'oci-archive' : 'docker-archive';
  const child = spawn('podman', ['save', '--quiet', '--format', format, '--output', path, image], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: createPodmanEnv(hostEnv) as NodeJS.ProcessEnv,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 8192) stderr += text;
  });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('close', resolve);
  });
  if (code !== 0)
    throw new PolytheneError(
      'POLYTHENE_PULL_FAILED',
      `podman save to ${archive} failed: ${stderr.trim().split('\n').at(-1) ?? `exit ${code}`}`,
    );
}

async function importTree(
  rootfs: string,
  image: string,
  changes: readonly string[],
  hostEnv: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  const env = createPodmanEnv(hostEnv);
  // Unprivileged: in-box ids, read inside the user's own namespace (issue 15).
  const [file = 'tar', ...head] = [...(userNamespacePrefix() ?? []), 'tar'];
  const tar = spawn(
    file,
    [
      ...head,
      '--create',
      '--file=-',
      '--format=posix',
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=*',
      `--directory=${rootfs}`,
      '.',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
  );
  const podman = spawn(
    'podman',
    ['import', '--quiet', ...changes.flatMap((change) => ['--change', change]), '-', image],
    { stdio: ['pipe', 'pipe', 'pipe'], env: env as NodeJS.ProcessEnv },
  );
  tar.stdout.pipe(podman.stdin);
  podman.stdin.on('error', () => undefined);
  const collect = (stream: NodeJS.ReadableStream) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (text.length < 8192) text += chunk;
    });
    return () => text;
  };
  const tarErr = collect(tar.stderr);
  const podmanOut = collect(podman.stdout);
  const podmanErr = collect(podman.stderr);
  const exit = (child: ReturnType<typeof spawn>) =>
    new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(null));
      child.once('close', (code) => resolve(code));
    });
  const [tarCode, podmanCode] = await Promise.all([exit(tar), exit(podman)]);
  if (podmanCode !== 0)
    throw new PolytheneError(
      podmanCode === null ? 'POLYTHENE_PODMAN_MISSING' : 'POLYTHENE_PULL_FAILED',
      podmanCode === null
        ? 'cannot run podman; install the Debian package podman'
        : `podman import ${image} failed: ${podmanErr().trim().split('\n').at(-1) ?? ''}`,
    );
  if (tarCode !== 0)
    throw new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `tar could not read ${rootfs}: ${tarErr().trim().split('\n')[0] ?? ''}`,
    );
  return podmanOut()
    .trim()
    .replace(/^sha256:/, '');
}
