import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  type Stats,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';
import { openPrivateDirectory } from '@polythene/probe';

// The Module class without loading node:module (0.2 ms on every run): in the CommonJS launcher
// it is the constructor of the launcher's own module; elsewhere (tests) the built-in.
const ModuleClass: typeof import('node:module') =
  typeof module === 'object' && module !== null && typeof module.constructor === 'function'
    ? (module.constructor as typeof import('node:module'))
    : process.getBuiltinModule('node:module');

/** Where {@link loadWithCodeCache} keeps compiled code, and under which key. */
export interface CodeCacheOptions {
  /** Directory for the cache files; created (0700) on the first write. */
  readonly cacheDir: string;
  /**
   * Identifies this release of the code (the package version). Part of the key, together with
   * the file's size, mtime and inode: V8 itself only checks the source's length, and package
   * managers give every release's files the same mtime.
   */
  readonly release: string;
  /**
   * The kind of run (`exec`, or anything else): a cache holds what the first run of its kind
   * compiled, so each kind keeps its own and `exec` never runs on a cache `--version` made.
   */
  readonly variant?: string;
  /** No cache is written by a run that exits with one of these codes (it ended early). */
  readonly exitCodesWithoutCache?: readonly number[];
}

/** What {@link loadWithCodeCache} did, for tests and verbose output. */
export interface CodeCacheOutcome {
  /** The module's `exports`. */
  readonly exports: unknown;
  /** `hit`: compiled from the cache; `miss`: no usable cache, one is written at exit. */
  readonly cache: 'hit' | 'miss' | 'disabled';
}

/**
 * Loads a CommonJS file the way `require` would, but compiles it with a V8 code cache kept in
 * `options.cacheDir`: the second run skips parsing and compiling it, which is most of the
 * start-up cost Node 20 adds on top of its own (it has no `module.enableCompileCache`). The
 * cache is written when the process exits, so it also holds the functions this run compiled
 * lazily. Any cache problem (unwritable directory, a cache V8 rejects) only costs speed.
 *
 * The file's own `./*.cjs` requires (the bundle's chunks, in the same directory) load the same
 * way, each with its own cache file; anything else goes to Node's `require`. Every module is
 * registered in `require.cache`, so requiring a file again returns the same module.
 * `requireFromSameDirectory`, when given, must be a `require` of a module in the directory of
 * `filename`; it resolves everything else.
 */
export function loadWithCodeCache(
  filename: string,
  options: CodeCacheOptions | undefined,
  requireFromSameDirectory?: NodeJS.Require,
): CodeCacheOutcome {
  // Creating a require function costs every run ~0.2 ms; the launcher lends its own, which
  // resolves alike because it lives in the same directory as the files it loads.
  const nodeRequire = requireFromSameDirectory ?? ModuleClass.createRequire(filename);
  const registered = nodeRequire.cache[filename];
  if (registered !== undefined) return { exports: registered.exports, cache: 'hit' };

  const { source, stats } = readSourceFile(filename);
  const cacheFile = options === undefined ? undefined : cacheFileFor(filename, stats, options);
  const cachedData =
    cacheFile === undefined || options === undefined
      ? undefined
      : readOwnCacheFile(options.cacheDir, cacheFile);
  const script = new Script(wrapCommonJs(stripHashbang(source)), {
    filename,
    // No `importModuleDynamically`: Node 20 drops it for code compiled from a cache (and warns
    // that it is experimental), so this code never uses `import()`; the launcher passes an importer to the CLI's `main`.
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const isHit = cachedData !== undefined && !script.cachedDataRejected;
  if (cacheFile !== undefined && options !== undefined && !isHit) {
    const stalePrefix = cachePrefixFor(filename, options);
    process.once('exit', (exitCode) => {
      if (!options.exitCodesWithoutCache?.includes(exitCode)) {
        writeCodeCache(script, options.cacheDir, cacheFile, stalePrefix);
      }
    });
  }

  const loadedModule = new ModuleClass(filename);
  loadedModule.filename = filename;
  nodeRequire.cache[filename] = loadedModule;
  const directory = dirname(filename);
  const requireFromModule = ((specifier: string): unknown =>
    isSiblingChunk(specifier)
      ? loadWithCodeCache(join(directory, specifier), options, nodeRequire).exports
      : nodeRequire(specifier)) as NodeJS.Require;
  Object.assign(requireFromModule, nodeRequire);
  const moduleFunction = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: InstanceType<typeof import('node:module')>,
    filename: string,
    dirname: string,
  ) => void;
  moduleFunction.call(
    loadedModule.exports,
    loadedModule.exports,
    requireFromModule,
    loadedModule,
    filename,
    directory,
  );
  loadedModule.loaded = true;
  return {
    exports: loadedModule.exports,
    cache: cacheFile === undefined ? 'disabled' : isHit ? 'hit' : 'miss',
  };
}

// One open for both the text and the identity the cache key is made of, so the two always
// describe the same file. A text read is decoded natively, faster than via a Buffer.
function readSourceFile(filename: string): { source: string; stats: Stats } {
  const fd = openSync(filename, 'r');
  try {
    return { stats: fstatSync(fd), source: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

// `./name.cjs` and nothing deeper: the bundler's own chunks, never a user's path.
function isSiblingChunk(specifier: string): boolean {
  // String tests, not a regular expression: compiling one costs more than every call here.
  return (
    specifier.length > './.cjs'.length &&
    specifier.startsWith('./') &&
    specifier.endsWith('.cjs') &&
    !specifier.includes('/', 2)
  );
}

/**
 * The code cache directory for this user: `$XDG_CACHE_HOME/polythene/code-cache`, else
 * `~/.cache/polythene/code-cache` (beside the probe cache); undefined when
 * `POLYTHENE_CODE_CACHE=0` turns it off.
 */
export function resolveCodeCacheDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  if (env.POLYTHENE_CODE_CACHE === '0') return undefined;
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base =
    xdg !== undefined && isAbsolute(xdg)
      ? xdg
      : join(env.HOME || process.getBuiltinModule('node:os').homedir(), '.cache');
  return join(base, 'polythene', 'code-cache');
}

function cacheFileFor(filename: string, stats: Stats, options: CodeCacheOptions): string {
  const key = [
    options.release,
    `node${process.versions.node}`,
    process.arch,
    stats.size,
    Math.trunc(stats.mtimeMs),
    stats.ino,
  ].join('-');
  return `${cachePrefixFor(filename, options)}${key}.v8`;
}

// One prefix per installed file (its name and a hash of its directory) and variant: a new
// release replaces its own predecessor's cache, and two installs side by side never evict
// each other.
function cachePrefixFor(filename: string, options: CodeCacheOptions): string {
  const directory = dirname(filename);
  let hash = 0x811c9dc5;
  for (let index = 0; index < directory.length; index += 1) {
    hash = Math.imul(hash ^ directory.charCodeAt(index), 0x01000193);
  }
  const variant = options.variant === undefined ? '' : `${options.variant}-`;
  return `${basename(filename)}-${(hash >>> 0).toString(16)}-${variant}`;
}

// The cache directory, opened once per process and kept open (close-on-exec, as every
// descriptor Node opens): undefined when it is missing or someone other than this user (and
// root) could change it; see openPrivateDirectory.
const openCacheDirs = new Map<string, number | undefined>();

function cacheDirectoryFd(cacheDir: string, create: boolean): number | undefined {
  const known = openCacheDirs.get(cacheDir);
  if (known !== undefined || (openCacheDirs.has(cacheDir) && !create)) return known;
  const opened = openPrivateDirectory(cacheDir, { create });
  const fd = 'fd' in opened ? opened.fd : undefined;
  openCacheDirs.set(cacheDir, fd);
  return fd;
}

// A code cache is code: only one this user wrote and no one else can change is used, or root
// running with another user's HOME (sudo -E) would execute what that user put there. The
// directory and every one above it are checked once (openPrivateDirectory), the file on the
// open descriptor, which is also what is read; a symlink at the path is not followed.
function readOwnCacheFile(cacheDir: string, name: string): Buffer | undefined {
  const dirFd = cacheDirectoryFd(cacheDir, false);
  if (dirFd === undefined) return undefined;
  let fd: number;
  try {
    fd = openSync(
      `/proc/self/fd/${dirFd}/${name}`,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    const uid = process.geteuid?.() ?? -1;
    if (!stats.isFile() || stats.uid !== uid || (stats.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

// Runs at exit: never throws, and replaces the file atomically so a concurrent run reads
// either the old cache or the new one, never half of it. Every name is taken relative to the
// checked directory descriptor: nothing is written or deleted in a directory another user
// controls.
function writeCodeCache(
  script: Script,
  cacheDir: string,
  cacheFile: string,
  stalePrefix: string,
): void {
  try {
    const dirFd = cacheDirectoryFd(cacheDir, true);
    if (dirFd === undefined) return;
    const inDirectory = (name: string): string => `/proc/self/fd/${dirFd}/${name}`;
    const partial = inDirectory(`${cacheFile}.${process.pid}.partial`);
    // `wx`: never through a file or symlink someone planted at this name.
    writeFileSync(partial, script.createCachedData(), { mode: 0o600, flag: 'wx' });
    renameSync(partial, inDirectory(cacheFile));
    removeStaleCaches(dirFd, cacheFile, stalePrefix);
  } catch {
    // No cache this time; the next run tries again.
  }
}

/** Caches untouched this long are dropped when another is written (see removeStaleCaches). */
export const UNUSED_CACHE_MAX_AGE_MS: number = 30 * 24 * 60 * 60 * 1000;

// A write takes milliseconds: a half-written cache this old was left by a killed process.
const PARTIAL_MAX_AGE_MS = 60 * 60 * 1000;

// Drops, besides the caches of other releases of the same file and variant: writes a killed
// process left half done, and caches not written for a month, which mostly belong to
// installs that are gone (every `npx` directory, every checkout gets its own). One still in
// use is written again by its next run: a month's caches cost one slower start. Only in the
// checked directory `dirFd`, and only this user's files.
function removeStaleCaches(dirFd: number, current: string, stalePrefix: string): void {
  const now = Date.now();
  const uid = process.geteuid?.() ?? -1;
  for (const name of readdirSync(`/proc/self/fd/${dirFd}`)) {
    if (name === current) continue;
    const path = `/proc/self/fd/${dirFd}/${name}`;
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats === undefined || !stats.isFile() || stats.uid !== uid) continue;
    const isPartial = name.endsWith('.partial');
    const ageMs = now - stats.mtimeMs;
    const isStale = isPartial
      ? ageMs > PARTIAL_MAX_AGE_MS
      : name.startsWith(stalePrefix) || ageMs > UNUSED_CACHE_MAX_AGE_MS;
    if (isStale) unlinkSync(path);
  }
}

function wrapCommonJs(source: string): string {
  // The same parameters, in the same order, as Node's own CommonJS wrapper.
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

// A hashbang is only valid as a script's first line; inside the wrapper it would be a syntax
// error. Replacing it with a comment of the same line keeps line numbers.
function stripHashbang(source: string): string {
  return source.startsWith('#!') ? `//${source.slice(2)}` : source;
}
