import { execFile } from 'node:child_process';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveCodeCacheDir } from './load-with-code-cache.ts';

const loaderPath = fileURLToPath(new URL('./load-with-code-cache.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'polythene-code-cache-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/**
 * Loads `file` with the code cache in a fresh Node process (the cache is written at exit, as
 * in the real launcher) and returns what the loader and the module reported.
 */
async function loadInChild(
  file: string,
  cacheDir: string,
  release = '1.0.0',
  variant?: string,
  exit?: { code: number; withoutCache: number[] },
): Promise<{ cache: string; value: unknown }> {
  const options = {
    cacheDir,
    release,
    ...(variant === undefined ? {} : { variant }),
    ...(exit === undefined ? {} : { exitCodesWithoutCache: exit.withoutCache }),
  };
  const script = `
    import { loadWithCodeCache } from ${JSON.stringify(loaderPath)};
    const outcome = loadWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(options)});
    console.log(JSON.stringify({ cache: outcome.cache, value: outcome.exports.value }));
    process.exitCode = ${exit?.code ?? 0};
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: repoRoot },
  ).catch((error: { stdout: string; code: number }) => {
    if (error.code !== exit?.code) throw error;
    return error;
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

const cacheFiles = async (dir: string): Promise<string[]> =>
  (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.v8'));

describe('loadWithCodeCache', () => {
  it('compiles from the cache on the second run, with the same result', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(file, 'exports.value = [1, 2, 3].map((n) => n * 2).join(",");\n');
    const cacheDir = join(work, 'cache');

    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'miss', value: '2,4,6' });
    expect(await cacheFiles(cacheDir)).toHaveLength(1);
    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'hit', value: '2,4,6' });
  });

  it('never serves a changed file from the old cache, and drops the old cache', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(file, 'exports.value = "old";\n');
    const cacheDir = join(work, 'cache');
    await loadInChild(file, cacheDir);
    const [oldCache] = await cacheFiles(cacheDir);

    // Same length, so V8's own check (source length) could not tell them apart.
    await writeFile(file, 'exports.value = "new";\n');
    const { mtime } = await stat(file);
    await utimes(file, mtime, new Date(mtime.getTime() + 2_000));
    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'miss', value: 'new' });
    const after = await cacheFiles(cacheDir);
    expect(after).toHaveLength(1);
    expect(after).not.toContain(oldCache);
    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'hit', value: 'new' });
  });

  it('drops, when it writes one, half-written caches left an hour ago and month-old caches', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(file, 'exports.value = "fresh";\n');
    const cacheDir = join(work, 'cache');
    await mkdir(cacheDir, { recursive: true });
    const leftovers = {
      // Another install's cache, last written 31 days ago, and one written yesterday.
      oldOther: 'other.cjs-0badcafe-other-1.0.0-x.v8',
      recentOther: 'other.cjs-0badcafe-exec.bwrap-1.0.0-x.v8',
      // Writes in progress: one a killed process left two hours ago, one of a running process.
      oldWrite: 'other.cjs-0badcafe-other-1.0.0-x.v8.12345.partial',
      liveWrite: `other.cjs-0badcafe-other-1.0.0-x.v8.${process.pid}.partial`,
    };
    for (const name of Object.values(leftovers)) await writeFile(join(cacheDir, name), 'x');
    const hourMs = 60 * 60 * 1000;
    const ago = (hours: number) => new Date(Date.now() - hours * hourMs);
    await utimes(join(cacheDir, leftovers.oldOther), ago(31 * 24), ago(31 * 24));
    await utimes(join(cacheDir, leftovers.recentOther), ago(24), ago(24));
    await utimes(join(cacheDir, leftovers.oldWrite), ago(2), ago(2));

    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'miss', value: 'fresh' });
    const kept = await readdir(cacheDir);
    expect(kept).not.toContain(leftovers.oldOther);
    expect(kept).not.toContain(leftovers.oldWrite);
    expect(kept).toContain(leftovers.recentOther);
    expect(kept).toContain(leftovers.liveWrite);
    expect(await cacheFiles(cacheDir)).toHaveLength(2);
  });

  it('keys the cache by release too: a new release with identical file stats misses', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(file, 'exports.value = 42;\n');
    const cacheDir = join(work, 'cache');
    await loadInChild(file, cacheDir, '1.0.0');
    expect(await loadInChild(file, cacheDir, '1.0.1')).toEqual({ cache: 'miss', value: 42 });
  });

  it('uses only a private cache file of its own, never one others can write or a symlink', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(file, 'exports.value = "mine";\n');
    const cacheDir = join(work, 'cache');
    await loadInChild(file, cacheDir);
    const [name] = await cacheFiles(cacheDir);
    const cacheFile = join(cacheDir, name as string);

    await chmod(cacheFile, 0o666);
    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'miss', value: 'mine' });
    // The miss wrote a fresh private file in its place.
    expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);
    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'hit', value: 'mine' });

    // Another user's file, as root would find it under that user's HOME (sudo -E).
    if (process.geteuid?.() === 0) {
      await chown(cacheFile, 1001, 1001);
      expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'miss', value: 'mine' });
      expect((await stat(cacheFile)).uid).toBe(0);
    }

    const elsewhere = join(work, 'elsewhere.v8');
    await rename(cacheFile, elsewhere);
    await symlink(elsewhere, cacheFile);
    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'miss', value: 'mine' });
  });

  it('keeps one cache per variant, neither evicting the other', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(file, 'exports.value = "v";\n');
    const cacheDir = join(work, 'cache');
    // Names that begin alike too: exec.auto.json's file begins with exec.auto's name.
    const variants = ['exec.auto', 'exec.auto.json', 'other'];
    for (const variant of variants) {
      expect(await loadInChild(file, cacheDir, '1.0.0', variant)).toMatchObject({ cache: 'miss' });
    }
    expect(await cacheFiles(cacheDir)).toHaveLength(3);
    for (const variant of variants) {
      expect(await loadInChild(file, cacheDir, '1.0.0', variant)).toMatchObject({ cache: 'hit' });
    }
  });

  it('writes no cache after an exit code that ends a run early, and does after any other', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(file, 'exports.value = "early";\n');
    const cacheDir = join(work, 'cache');
    const early = { code: 125, withoutCache: [2, 125, 126] };
    expect(await loadInChild(file, cacheDir, '1.0.0', 'exec', early)).toMatchObject({
      cache: 'miss',
    });
    expect(await cacheFiles(cacheDir)).toEqual([]);
    const failedCommand = { code: 1, withoutCache: [2, 125, 126] };
    await loadInChild(file, cacheDir, '1.0.0', 'exec', failedCommand);
    expect(await cacheFiles(cacheDir)).toHaveLength(1);
  });

  it('still loads when the cache directory cannot be created', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(file, 'exports.value = "works";\n');
    const blocker = join(work, 'not-a-dir');
    await writeFile(blocker, '');
    const cacheDir = join(blocker, 'cache');
    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'miss', value: 'works' });
    expect(await loadInChild(file, cacheDir)).toEqual({ cache: 'miss', value: 'works' });
  });

  it('loads sibling chunks through the cache once, circular requires included', async () => {
    await writeFile(
      join(work, 'main.cjs'),
      [
        'exports.name = "main";',
        'const chunk = require("./chunk-a1.cjs");',
        'const again = require("./chunk-a1.cjs");',
        'const path = require("node:path");',
        'exports.value = [chunk.describe(), chunk === again, path.basename(__filename), __dirname === path.dirname(__filename)].join(" ");',
      ].join('\n'),
    );
    await writeFile(
      join(work, 'chunk-a1.cjs'),
      'const main = require("./main.cjs");\nexports.describe = () => "chunk sees " + main.name;\n',
    );
    const cacheDir = join(work, 'cache');
    const expected = 'chunk sees main true main.cjs true';
    expect(await loadInChild(join(work, 'main.cjs'), cacheDir)).toEqual({
      cache: 'miss',
      value: expected,
    });
    expect(await cacheFiles(cacheDir)).toHaveLength(2);
    expect(await loadInChild(join(work, 'main.cjs'), cacheDir)).toEqual({
      cache: 'hit',
      value: expected,
    });
  });

  it('keeps line numbers in stack traces, hashbang included', async () => {
    const file = join(work, 'main.cjs');
    await writeFile(
      file,
      '#!/usr/bin/env node\nconst where = () => new Error("here").stack;\nexports.value = where();\n',
    );
    const { value } = await loadInChild(file, join(work, 'cache'));
    expect(String(value)).toContain(`${file}:2:`);
  });
});

describe('resolveCodeCacheDir', () => {
  it('sits beside the probe cache and can be turned off', () => {
    expect(resolveCodeCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/polythene/code-cache');
    expect(resolveCodeCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/xdg' })).toBe(
      '/xdg/polythene/code-cache',
    );
    expect(resolveCodeCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: 'relative' })).toBe(
      '/home/u/.cache/polythene/code-cache',
    );
    expect(resolveCodeCacheDir({ HOME: '/home/u', POLYTHENE_CODE_CACHE: '0' })).toBeUndefined();
  });
});
