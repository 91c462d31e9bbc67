import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { Backend, ProbeContext, ProbeResult } from './backend.ts';
import {
  computeBinaryFingerprint,
  computeHostFingerprint,
  readEffectiveUid,
} from './host-fingerprint.ts';
import { openPrivateDirectory } from './open-private-directory.ts';

/**
 * Probe results remembered across processes, so repeat execs pay no probing. An entry is
 * used only while the host fingerprint it was stored with still matches.
 *
 * The methods are synchronous on purpose: a lookup is one small file read and a few `stat`s,
 * which finish faster than a round trip through the libuv thread pool.
 */
export interface ProbeCache {
  /** The cache file. */
  readonly path: string;
  /** The stored result for `backend`, or undefined when there is none or the host changed. */
  lookup(backend: Backend, context: ProbeContext): ProbeResult | undefined;
  /** Remembers a fresh probe result. Failing to write is logged, never thrown. */
  store(backend: Backend, context: ProbeContext, result: ProbeResult): void;
  /**
   * Forgets a backend's result, e.g. after its `run` failed to set up the sandbox, so the next
   * exec probes it again instead of trusting a stale "available".
   */
  invalidate(backendName: string): void;
}

/** Options for {@link createProbeCache}. */
export interface ProbeCacheOptions {
  /** The cache file; default from {@link resolveProbeCachePath}. */
  readonly path?: string;
  /** Environment for the default path (`XDG_CACHE_HOME`, `HOME`); default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Receives one line per problem with the cache file (verbose output). */
  readonly log?: (line: string) => void;
  /**
   * Reuse what this process read and computed within this many milliseconds (the cache
   * file's entries, the host and binary fingerprints) instead of reading the file and `/proc`
   * and stat-ing `PATH` again: for a process that runs many execs (the API in a test suite).
   * A change inside the window goes unseen only until a backend fails to set up, which
   * forgets its result. Default 0: always fresh.
   */
  readonly reuseFingerprintsMs?: number;
}

interface CacheEntry {
  readonly fingerprint: string;
  readonly result: ProbeResult;
  readonly probedAtMs: number;
}

interface CacheFile {
  readonly version: 1;
  readonly entries: Record<string, CacheEntry>;
}

/**
 * The default cache file: `$XDG_CACHE_HOME/polythene/probe-v1.json`, else
 * `~/.cache/polythene/probe-v1.json`. Each user has their own; the file also records the uid
 * in every fingerprint, so a shared `HOME` (sudo) never serves one user's result to another.
 */
export function resolveProbeCachePath(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base =
    xdg !== undefined && isAbsolute(xdg)
      ? xdg
      : join(env.HOME || process.getBuiltinModule('node:os').homedir(), '.cache');
  return join(base, 'polythene', 'probe-v1.json');
}

/** Creates the on-disk probe cache. Nothing is read until the first lookup. */
export function createProbeCache(options: ProbeCacheOptions = {}): ProbeCache {
  const path = options.path ?? resolveProbeCachePath(options.env);
  const log = options.log ?? (() => {});
  const reuseMs = options.reuseFingerprintsMs ?? 0;
  let entries: Record<string, CacheEntry> | undefined;
  let hostFingerprint: string | undefined;

  const fingerprintOf = (backend: Backend, context: ProbeContext): string => {
    hostFingerprint ??= recentlyComputed('host', reuseMs, computeHostFingerprint);
    return JSON.stringify([
      backend.name,
      context.isRoot,
      hostFingerprint,
      backend.probeRevision ?? '',
      ...(backend.binaries ?? []).map((binary) =>
        recentlyComputed(`binary\0${binary}\0${context.hostEnv.PATH ?? ''}`, reuseMs, () =>
          computeBinaryFingerprint(binary, context.hostEnv.PATH),
        ),
      ),
    ]);
  };

  const loadEntries = (): Record<string, CacheEntry> => {
    entries ??=
      recall<Record<string, CacheEntry>>(`file\0${path}`, reuseMs) ??
      remember(`file\0${path}`, readCacheFile(path, log));
    return entries;
  };

  const persist = (change: (latest: Record<string, CacheEntry>) => void): void => {
    // Merge into what is on disk now: another exec may have stored other backends meanwhile.
    const latest = readCacheFile(path, () => {});
    change(latest);
    entries = remember(`file\0${path}`, latest);
    writeCacheFile(path, { version: 1, entries: latest }, log);
  };

  return {
    path,
    lookup(backend, context) {
      const entry = loadEntries()[backend.name];
      if (entry === undefined) return undefined;
      return entry.fingerprint === fingerprintOf(backend, context) ? entry.result : undefined;
    },
    store(backend, context, result) {
      const entry: CacheEntry = {
        fingerprint: fingerprintOf(backend, context),
        result,
        probedAtMs: Date.now(),
      };
      persist((latest) => {
        latest[backend.name] = entry;
      });
    },
    invalidate(backendName) {
      persist((latest) => {
        delete latest[backendName];
      });
    },
  };
}

// What this process read or computed recently (cache file entries, fingerprints), by what it
// is of; see `reuseFingerprintsMs`. The uid is part of every key: a process that changes it
// never reuses another user's facts. Values are never mutated once stored (changes go through
// `persist`, which builds a new object).
const recentValues = new Map<string, { readonly value: unknown; readonly atMs: number }>();

function recall<T>(key: string, reuseMs: number): T | undefined {
  const recent = recentValues.get(`${readEffectiveUid()}\0${key}`);
  return recent !== undefined && reuseMs > 0 && Date.now() - recent.atMs < reuseMs
    ? (recent.value as T)
    : undefined;
}

function remember<T>(key: string, value: T): T {
  recentValues.set(`${readEffectiveUid()}\0${key}`, { value, atMs: Date.now() });
  return value;
}

function recentlyComputed(key: string, reuseMs: number, compute: () => string): string {
  return recall<string>(key, reuseMs) ?? remember(key, compute());
}

function readCacheFile(path: string, log: (line: string) => void): Record<string, CacheEntry> {
  // Only from a directory nobody but this user (and root) controls, every parent included:
  // root with another user's HOME neither reads nor writes there.
  const directory = openPrivateDirectory(dirname(path));
  if ('refused' in directory) {
    if (!directory.refused.endsWith('does not exist'))
      log(`probe cache ${path} not used: ${directory.refused}; probing afresh`);
    return {};
  }
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink planted at the cache path is not followed.
    fd = openSync(
      `/proc/self/fd/${directory.fd}/${basename(path)}`,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      log(`probe cache ${path} unreadable (${(error as Error).message}); probing afresh`);
    }
    return {};
  } finally {
    closeSync(directory.fd);
  }
  try {
    // Probe details reach `run` (binary paths): trust only a file this user wrote and no one
    // else can change, so root with a user's HOME never runs what that user put there.
    const stats = fstatSync(fd);
    const uid = readEffectiveUid();
    if (!stats.isFile() || (uid >= 0 && stats.uid !== uid) || (stats.mode & 0o022) !== 0) {
      log(`probe cache ${path} ignored: not a private file owned by uid ${uid}`);
      return {};
    }
    const parsed = JSON.parse(readFileSync(fd, 'utf8')) as Partial<CacheFile>;
    if (parsed.version !== 1 || typeof parsed.entries !== 'object' || parsed.entries === null) {
      log(`probe cache ${path} has an unknown format; probing afresh`);
      return {};
    }
    const valid: Record<string, CacheEntry> = {};
    for (const [name, entry] of Object.entries(parsed.entries)) {
      if (isCacheEntry(entry)) valid[name] = entry;
    }
    return valid;
  } catch (error) {
    log(`probe cache ${path} unreadable (${(error as Error).message}); probing afresh`);
    return {};
  } finally {
    closeSync(fd);
  }
}

function isCacheEntry(value: unknown): value is CacheEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Partial<CacheEntry>;
  const result = entry.result as Partial<Record<string, unknown>> | undefined;
  if (typeof entry.fingerprint !== 'string' || typeof result !== 'object' || result === null) {
    return false;
  }
  if (result.available === true) {
    return (
      Array.isArray(result.guarantees) &&
      typeof result.lost === 'object' &&
      result.lost !== null &&
      typeof result.details === 'object' &&
      result.details !== null
    );
  }
  return result.available === false && typeof result.reason === 'string';
}

let temporarySequence = 0;

function writeCacheFile(path: string, content: CacheFile, log: (line: string) => void): void {
  // Unique per process and write; `wx` below refuses a clash rather than clobbering it.
  temporarySequence += 1;
  const directory = openPrivateDirectory(dirname(path), { create: true });
  if ('refused' in directory) {
    log(`probe cache ${path} not written: ${directory.refused}; the next run probes again`);
    return;
  }
  // Every name below is taken relative to the checked directory descriptor.
  const inDirectory = (name: string): string => `/proc/self/fd/${directory.fd}/${name}`;
  const temporary = inDirectory(`${basename(path)}.${process.pid}.${temporarySequence}.tmp`);
  try {
    // `wx` + rename: readers see the old file or the new one, never half of one.
    writeFileSync(temporary, `${JSON.stringify(content)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, inDirectory(basename(path)));
  } catch (error) {
    log(`probe cache ${path} not written (${(error as Error).message}); the next run probes again`);
    try {
      unlinkSync(temporary);
    } catch {
      // the temporary was never created
    }
  } finally {
    closeSync(directory.fd);
  }
}
