import { join } from 'node:path';
import { pull } from '@polythene/core';
import { hasErrorCode } from '@polythene/errors';
import type { Backend } from '@polythene/probe';
import { openStore, resolveStoreDir, type Store, withFileLock } from '@polythene/store';
import { resolveBoxBinds } from './box-binds.ts';
import type { Box, BoxOptions } from './box-types.ts';
import { type BoxMethod, chooseBoxMethod } from './choose-box-method.ts';
import { createBox } from './create-box.ts';
import { createLiveBox } from './create-live-box.ts';
import { findBackends } from './find-backends.ts';
import {
  IMAGE_LOCK_NAME,
  type ImageIndexRecord,
  readImageIndex,
  writeImageIndex,
} from './image-index.ts';
import type { LiveBox, LiveBoxOptions } from './live-box-types.ts';
import { resolveTestRunId } from './resolve-test-run-id.ts';

/** Options for {@link openImage} (`polythene.image`). */
export interface ImageOptions {
  /** Store directory; else `POLYTHENE_STORE`, else `/var/tmp/polythene`. */
  readonly store?: string;
  /**
   * `missing` (default): pull when the store holds no copy of this reference yet, else reuse
   * it, across runs. `always`: pull once per test run (the first worker to ask pulls, the
   * others reuse that), replacing the copy from an earlier run. `never`: like `missing`, but
   * a pull uses only podman's local images, never a registry.
   */
  readonly pullPolicy?: 'missing' | 'always' | 'never';
  /** Backend to try first for the boxes' commands; else `POLYTHENE_ISOLATION`, else probe order. */
  readonly isolation?: string;
  /**
   * `auto` (default): overlay layers when the backend can mount them (constant-time boxes),
   * else full copies. `overlay` or `copy` force one (file operations work either way;
   * commands in an `overlay` box need a backend that mounts overlayfs).
   */
  readonly boxMethod?: BoxMethod | 'auto';
  /** The environment to read `POLYTHENE_*` from; defaults to `process.env`. */
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * The backends the boxes' commands run with, in probe order (`[createProotBackend()]`);
   * default: every built-in backend package installed (`@polythene/backend-bwrap`, `-proot`,
   * `-chroot`). A box that stays up (`keepAlive`) runs through the `polythene` CLI instead.
   */
  readonly backends?: readonly Backend[];
}

/** An image pulled into the store once, ready to hand out boxes. */
export interface PolytheneImage {
  /** The image reference as given. */
  readonly ref: string;
  /** The store entry holding the image's root filesystem (shared, never written to). */
  readonly id: string;
  /** The store directory. */
  readonly store: string;
  /** How boxes get their root: `overlay` layers or full `copy`. */
  readonly boxMethod: BoxMethod;
  /** True when this call pulled the image; false when it reused the cached copy. */
  readonly isFreshPull: boolean;
  /**
   * A box that stays up (`polythene start`, bwrap or chroot): services started in it are
   * reachable from its next commands; disposing it stops everything in it.
   */
  box(options: LiveBoxOptions): Promise<LiveBox>;
  /**
   * A fresh disposable box: dispose it with `await using` or `box.dispose()`. `limits` cap
   * every command run in it (memory, CPUs, processes), as `exec --memory/--cpus/--pids-limit`;
   * `binds` and `workspace` bind host paths into it for every command it runs; `network` is
   * its commands' default network mode.
   */
  box(options?: BoxOptions): Promise<Box>;
}

const openImages = new Map<string, Promise<PolytheneImage>>();
const clearedStores = new Set<string>();

/**
 * Pulls `ref` into the store, once per test run however many vitest workers and files ask
 * (a file lock in the store serialises them; `<store>/.testkit-images.json` maps references
 * to entries), and returns it. The entry stays cached for later runs; see
 * {@link clearImageCache}. The first call per store also removes boxes left by processes
 * that died.
 */
export function openImage(ref: string, options: ImageOptions = {}): Promise<PolytheneImage> {
  const hostEnv = options.hostEnv ?? process.env;
  const storeDir = resolveStoreDir({ flag: options.store, env: hostEnv });
  const key = JSON.stringify([
    storeDir,
    ref,
    options.pullPolicy,
    options.isolation,
    options.boxMethod,
    backendsKey(options.backends),
  ]);
  let opened = openImages.get(key);
  if (opened === undefined) {
    opened = openImageUncached(ref, storeDir, hostEnv, options);
    openImages.set(key, opened);
    // A failure (podman down, a typo) must not be remembered for the rest of the worker.
    opened.catch(() => openImages.delete(key));
  }
  return opened;
}

async function openImageUncached(
  ref: string,
  storeDir: string,
  hostEnv: Readonly<Record<string, string | undefined>>,
  options: ImageOptions,
): Promise<PolytheneImage> {
  // Before the pull: a project with no backend package learns it at once.
  const backends = await findBackends(options.backends);
  const store = await openStore(storeDir);
  const pullPolicy = options.pullPolicy ?? 'missing';
  const isolation = options.isolation ?? (hostEnv.POLYTHENE_ISOLATION || undefined);
  const runId = resolveTestRunId(hostEnv);
  const { id, isFreshPull } = await withFileLock(join(store.dir, IMAGE_LOCK_NAME), async () => {
    if (!clearedStores.has(store.dir)) {
      clearedStores.add(store.dir);
      // Boxes of workers killed in an earlier run (the reaper normally got them already).
      await store.clearStaleTemporaries();
    }
    const index = await readImageIndex(store.dir);
    const cached = index[ref];
    const isUsable = cached !== undefined && (await isEntryUsable(store, cached));
    if (isUsable && (pullPolicy !== 'always' || cached.runId === runId)) {
      return { id: cached.id, isFreshPull: false };
    }
    const pulled = await pull({ image: ref, store: store.dir, pullPolicy, hostEnv });
    const record: ImageIndexRecord = {
      id: pulled.id,
      runId,
      pulledAt: new Date().toISOString(),
    };
    await writeImageIndex(store.dir, { ...(await readImageIndex(store.dir)), [ref]: record });
    if (isUsable) await removeQuietly(store, cached.id);
    return { id: pulled.id, isFreshPull: true };
  });
  const boxMethod = await chooseBoxMethod({
    requested: options.boxMethod ?? 'auto',
    isolation,
    hostEnv,
    backends,
  });
  return {
    ref,
    id,
    store: store.dir,
    boxMethod,
    isFreshPull,
    box: (async (options?: LiveBoxOptions | BoxOptions) => {
      if (options !== undefined && 'keepAlive' in options && options.keepAlive === true) {
        return createLiveBox({ ...options, store: store.dir, entryId: id, isolation, hostEnv });
      }
      const { binds, workspace, network, ...limits } = (options ?? {}) as BoxOptions;
      return createBox({
        store,
        ref,
        entryId: id,
        method: boxMethod,
        isolation,
        backends,
        hostEnv,
        limits,
        ...resolveBoxBinds({ binds, workspace }, process.cwd()),
        ...(network === undefined ? {} : { network }),
      });
    }) as PolytheneImage['box'],
  };
}

async function isEntryUsable(store: Store, record: ImageIndexRecord): Promise<boolean> {
  try {
    return (await store.getEntry(record.id)).status === 'ok';
  } catch {
    // Removed by `polythene rm` or `prune`: pull again.
    return false;
  }
}

/** The copy an `always` pull replaced; another run may still be using it, then it stays. */
async function removeQuietly(store: Store, id: string): Promise<void> {
  try {
    await store.remove(id);
  } catch (error) {
    if (
      !hasErrorCode(error, 'POLYTHENE_ENTRY_IN_USE') &&
      !hasErrorCode(error, 'POLYTHENE_ROOTFS_NOT_FOUND')
    )
      throw error;
  }
}

/** Options for {@link clearImageCache}. */
export interface ClearImageCacheOptions {
  /** Store directory; else `POLYTHENE_STORE`, else `/var/tmp/polythene`. */
  readonly store?: string;
  /** Only these references; default every image the testkit cached in the store. */
  readonly refs?: readonly string[];
  /** The environment to read `POLYTHENE_STORE` from; defaults to `process.env`. */
  readonly hostEnv?: Readonly<Record<string, string | undefined>>;
}

/**
 * Removes images the testkit cached (their store entries and index records), so the next
 * run pulls again. An entry a live box still uses is kept (and stays in the index). Returns
 * the removed entry ids.
 */
export async function clearImageCache(options: ClearImageCacheOptions = {}): Promise<string[]> {
  const hostEnv = options.hostEnv ?? process.env;
  const store = await openStore(resolveStoreDir({ flag: options.store, env: hostEnv }));
  return withFileLock(join(store.dir, IMAGE_LOCK_NAME), async () => {
    const index = await readImageIndex(store.dir);
    const removed: string[] = [];
    for (const ref of options.refs ?? Object.keys(index)) {
      const record = index[ref];
      if (record === undefined) continue;
      try {
        await store.remove(record.id);
        removed.push(record.id);
      } catch (error) {
        if (hasErrorCode(error, 'POLYTHENE_ENTRY_IN_USE')) continue;
        if (!hasErrorCode(error, 'POLYTHENE_ROOTFS_NOT_FOUND')) throw error;
      }
      delete index[ref];
    }
    await writeImageIndex(store.dir, index);
    for (const key of openImages.keys()) {
      if (JSON.parse(key)[0] === store.dir) openImages.delete(key);
    }
    return removed;
  });
}

// Images opened with different backend lists are different images to the cache.
const backendListIds = new WeakMap<readonly Backend[], number>();
let lastBackendListId = 0;
function backendsKey(backends: readonly Backend[] | undefined): number {
  if (backends === undefined) return 0;
  let id = backendListIds.get(backends);
  if (id === undefined) {
    lastBackendListId += 1;
    id = lastBackendListId;
    backendListIds.set(backends, id);
  }
  return id;
}
