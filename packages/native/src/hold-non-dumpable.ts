import { PolytheneError } from '@polythene/errors';
import { describeMissingNative, findNativeAddon } from './find-native-helper.ts';

/** The addon `native/addon/polythene-dumpable.c`. */
export const DUMPABLE_ADDON = 'polythene-dumpable';

interface DumpableAddon {
  getDumpable(): number;
  setDumpable(isDumpable: boolean): void;
}

const guarantee = "that the command cannot read polythene's environment and memory";

// By path: a process loads each file once (a second dlopen of it would fail).
const loadedAddons = new Map<string, DumpableAddon>();
let holders = 0;
let wasDumpable = false;

function loadAddon(env: Readonly<Record<string, string | undefined>>): DumpableAddon {
  const path = findNativeAddon(DUMPABLE_ADDON, env);
  const loaded = path === undefined ? undefined : loadedAddons.get(path);
  if (loaded !== undefined) return loaded;
  if (path === undefined) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `the addon ${DUMPABLE_ADDON} is missing, so polythene cannot guarantee ${guarantee}: ${describeMissingNative()}`,
    );
  }
  const module = { exports: {} as Partial<DumpableAddon> };
  try {
    process.dlopen(module, path);
  } catch (error) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `cannot load ${path}, so polythene cannot guarantee ${guarantee}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const { getDumpable, setDumpable } = module.exports;
  if (typeof getDumpable !== 'function' || typeof setDumpable !== 'function') {
    throw new PolytheneError('POLYTHENE_SETUP_FAILED', `${path} is not polythene's addon`);
  }
  const addon = { getDumpable, setDumpable };
  loadedAddons.set(path, addon);
  return addon;
}

/**
 * Makes this process non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`) until the returned function
 * is called: a process of the same user, such as a command under a backend without namespaces
 * (proot), can then neither read this process's `/proc/<pid>/environ` and `/proc/<pid>/mem`
 * nor trace it. Reference-counted, so overlapping runs share one hold; when the last is
 * released, the state from before the first comes back (dumpable again, unless it was not).
 * Throws a `POLYTHENE_SETUP_FAILED` error when the prebuilt addon is missing or cannot load.
 *
 * While held, this process's `/proc/<pid>` files belong to root (the kernel's rule for a
 * non-dumpable process) and it leaves no core dump; the process itself reads its own as before.
 */
export function holdNonDumpable(
  env: Readonly<Record<string, string | undefined>> = process.env,
): () => void {
  const loaded = loadAddon(env);
  if (holders === 0) {
    wasDumpable = loaded.getDumpable() === 1;
    loaded.setDumpable(false);
  }
  holders += 1;
  let isReleased = false;
  return () => {
    if (isReleased) return;
    isReleased = true;
    holders -= 1;
    if (holders === 0 && wasDumpable) loaded.setDumpable(true);
  };
}

/** This process's dumpable state (`PR_GET_DUMPABLE`: 0, 1, or 2), for tests and `doctor`. */
export function getDumpableState(
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  return loadAddon(env).getDumpable();
}
