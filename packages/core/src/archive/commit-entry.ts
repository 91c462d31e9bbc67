import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { createPodmanEnv, validateImageRef } from '@polythene/podman-export';
import {
  assertEntryRef,
  type ImageConfig,
  resolveEntryRef,
  userNamespacePrefix,
} from '@polythene/store';
import {
  type ApiForm,
  assertOptions,
  assertStringArgument,
  kinds,
  type OptionKind,
  STORE_OPTION_KINDS,
} from '../check-arguments.ts';
import { openStoreFromOptions, type StoreOptions } from '../store-options.ts';
import { withEntryTree } from './entry-archive.ts';
import { type ImageArchiveFormat, writeImageArchive } from './image-archive.ts';
import { applyConfigChanges, runtimeConfigOf } from './image-config-changes.ts';

/** Options for {@link commit}. */
export interface CommitOptions extends StoreOptions {
  /**
   * Dockerfile-style edits applied after the recorded config, like `podman commit --change`:
   * `ENV KEY=value`, `WORKDIR /dir`, `USER uid:gid`, `ENTRYPOINT ["…"]`, `CMD ["…"]`, `LABEL k=v`.
   */
  readonly changes?: readonly string[];
  /**
   * `oci-archive:PATH` or `docker-archive:PATH`: write the image to that file instead of
   * podman's storage; needs neither podman nor its storage.
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

const COMMIT_OPTION_KINDS: Readonly<Record<keyof CommitOptions, OptionKind>> = {
  ...STORE_OPTION_KINDS,
  changes: kinds.stringArray,
  archive: kinds.string,
};

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
  const api: ApiForm = {
    name: 'commit',
    form: "commit(idOrName, image, options), e.g. commit('dev', 'localhost/dev:1')",
  };
  assertStringArgument(api, ref, "the first argument, an entry's id or name,");
  assertStringArgument(api, image, 'the second argument, the image reference to write,');
  assertOptions(api, options, COMMIT_OPTION_KINDS);
  assertEntryRef(ref);
  const imageRef = validateImageRef(image);
  if (/^(oci-archive|docker-archive|oci|dir|containers-storage):/.test(imageRef))
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `commit writes into podman's storage: give a plain reference like localhost/name:tag, not a transport (got ${imageRef})`,
    );
  const archive = options.archive === undefined ? undefined : parseArchive(options.archive);
  const store = await openStoreFromOptions(options, false);
  const id = resolveEntryRef(store.dir, ref);
  const entry = await store.getEntry(id);
  const reference = imageRef.replace(/^docker:\/\//, '');
  if (archive !== undefined) {
    // Checked before the tree is read: a misspelt --change writes nothing.
    const config = applyConfigChanges(
      runtimeConfigOf(entry.metadata?.config),
      options.changes ?? [],
    );
    const imageId = await withEntryTree(store, id, (rootfs) =>
      writeImageArchive({
        rootfs,
        path: resolve(archive.path),
        format: archive.format,
        reference,
        config,
        architecture: entry.metadata?.architecture ?? goArchitecture(),
      }),
    );
    return { id, image: imageRef, imageId };
  }
  const changes = [...configChanges(entry.metadata?.config), ...(options.changes ?? [])];
  const imageId = await withEntryTree(store, id, (rootfs) =>
    importTree(rootfs, reference, changes, options.hostEnv ?? process.env),
  );
  return { id, image: imageRef, imageId };
}

function parseArchive(archive: string): { format: ImageArchiveFormat; path: string } {
  const match = /^(oci-archive|docker-archive):(.+)$/.exec(archive);
  if (match === null)
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--archive takes oci-archive:PATH or docker-archive:PATH (got ${JSON.stringify(archive)})`,
    );
  return { format: match[1] as ImageArchiveFormat, path: match[2] as string };
}

// Node's names for architectures, as image configs (Go) spell them.
function goArchitecture(): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' };
  return names[process.arch] ?? process.arch;
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
