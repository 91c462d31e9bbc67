import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableProbe, createFakeBackend } from '../test/fake-backend.ts';
import { createRegistry } from './backend-registry.ts';
import { createProbeCache, resolveProbeCachePath } from './probe-cache.ts';
import { selectBackend } from './select-backend.ts';

let dir: string;
let binDir: string;
let path: string;
let context: { isRoot: boolean; hostEnv: Record<string, string> };
const isRoot = process.geteuid?.() === 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polythene-cache-'));
  binDir = join(dir, 'bin');
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'faketool'), '#!/bin/sh\n', { mode: 0o755 });
  path = join(dir, 'cache', 'probe-v1.json');
  context = { isRoot: false, hostEnv: { PATH: `${join(dir, 'empty')}:${binDir}` } };
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const backend = createFakeBackend('fake', availableProbe(), { binaries: ['faketool'] });

describe('resolveProbeCachePath', () => {
  it('uses XDG_CACHE_HOME when absolute, else ~/.cache', () => {
    expect(resolveProbeCachePath({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/a' })).toBe(
      '/x/cache/polythene/probe-v1.json',
    );
    expect(resolveProbeCachePath({ XDG_CACHE_HOME: 'relative', HOME: '/home/a' })).toBe(
      '/home/a/.cache/polythene/probe-v1.json',
    );
    expect(resolveProbeCachePath({ HOME: '/home/b' })).toBe(
      '/home/b/.cache/polythene/probe-v1.json',
    );
  });
});

describe('createProbeCache', () => {
  it('stores a result privately and atomically, and serves it to the next process', () => {
    const first = createProbeCache({ path });
    expect(first.lookup(backend, context)).toBeUndefined();
    first.store(backend, context, availableProbe(['pid']));

    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'cache')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'cache'))).toEqual(['probe-v1.json']);
    expect(createProbeCache({ path }).lookup(backend, context)).toEqual(availableProbe(['pid']));
  });

  it('misses when the backend binary changes, appears or the user changes', () => {
    createProbeCache({ path }).store(backend, context, availableProbe());
    expect(createProbeCache({ path }).lookup(backend, context)).toBeDefined();

    // Upgraded binary: new mtime.
    utimesSync(join(binDir, 'faketool'), new Date(1_000_000), new Date(1_000_000));
    expect(createProbeCache({ path }).lookup(backend, context)).toBeUndefined();
    createProbeCache({ path }).store(backend, context, availableProbe());

    // The same name now found earlier on PATH.
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty', 'faketool'), '#!/bin/sh\n', { mode: 0o755 });
    expect(createProbeCache({ path }).lookup(backend, context)).toBeUndefined();
    rmSync(join(dir, 'empty'), { recursive: true });
    expect(createProbeCache({ path }).lookup(backend, context)).toBeDefined();

    expect(
      createProbeCache({ path }).lookup(backend, { ...context, isRoot: true }),
    ).toBeUndefined();
  });

  it('is not decided by a relative PATH entry, which no backend binary is taken from', () => {
    // `.` first on PATH, and a `faketool` in the current directory: findExecutable never
    // uses it, so changing it must not make the cached result look stale (nor fresh).
    const relativeFirst = { ...context, hostEnv: { PATH: `.:${binDir}:${binDir}` } };
    const previousCwd = process.cwd();
    process.chdir(dir);
    try {
      writeFileSync(join(dir, 'faketool'), '#!/bin/sh\n', { mode: 0o755 });
      createProbeCache({ path }).store(backend, relativeFirst, availableProbe());
      utimesSync(join(dir, 'faketool'), new Date(3_000_000), new Date(3_000_000));
      expect(createProbeCache({ path }).lookup(backend, relativeFirst)).toBeDefined();
      // The binary it does use still decides it.
      utimesSync(join(binDir, 'faketool'), new Date(4_000_000), new Date(4_000_000));
      expect(createProbeCache({ path }).lookup(backend, relativeFirst)).toBeUndefined();
    } finally {
      process.chdir(previousCwd);
    }
  });

  it('reuses recent fingerprints only when asked to, and only for the window given', async () => {
    const reusing = (reuseMs: number) => createProbeCache({ path, reuseFingerprintsMs: reuseMs });
    reusing(60_000).store(backend, context, availableProbe());
    utimesSync(join(binDir, 'faketool'), new Date(2_000_000), new Date(2_000_000));
    // Within the window the fingerprint computed at store time still stands…
    expect(reusing(60_000).lookup(backend, context)).toBeDefined();
    // …a fresh cache (the default) sees the change…
    expect(createProbeCache({ path }).lookup(backend, context)).toBeUndefined();
    // …and so does a short window once it has passed.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(reusing(20).lookup(backend, context)).toBeUndefined();
  });

  it('keeps entries other processes stored meanwhile, and invalidates one by name', () => {
    const other = createFakeBackend('other', availableProbe());
    const a = createProbeCache({ path });
    const b = createProbeCache({ path });
    a.store(backend, context, availableProbe());
    b.store(other, context, { available: false, reason: 'other: nope' });
    const reader = createProbeCache({ path });
    expect(reader.lookup(backend, context)).toBeDefined();
    expect(reader.lookup(other, context)).toEqual({ available: false, reason: 'other: nope' });

    a.invalidate('fake');
    expect(createProbeCache({ path }).lookup(backend, context)).toBeUndefined();
    expect(createProbeCache({ path }).lookup(other, context)).toBeDefined();
  });

  it('ignores a corrupt or foreign-format file, says so, and repairs it on store', () => {
    mkdirSync(join(dir, 'cache'), { mode: 0o700 });
    writeFileSync(path, '{not json', { mode: 0o600 });
    const lines: string[] = [];
    const cache = createProbeCache({ path, log: (line) => lines.push(line) });
    expect(cache.lookup(backend, context)).toBeUndefined();
    expect(lines[0]).toMatch(/unreadable/);
    cache.store(backend, context, availableProbe());
    expect(createProbeCache({ path }).lookup(backend, context)).toBeDefined();

    writeFileSync(path, JSON.stringify({ version: 2, entries: {} }));
    const again: string[] = [];
    expect(
      createProbeCache({ path, log: (line) => again.push(line) }).lookup(backend, context),
    ).toBeUndefined();
    expect(again[0]).toMatch(/unknown format/);
  });

  it('refuses a file others can write, or a symlink planted at the path', () => {
    const cache = createProbeCache({ path });
    cache.store(backend, context, availableProbe());
    chmodSync(path, 0o622);
    expect(createProbeCache({ path }).lookup(backend, context)).toBeUndefined();

    chmodSync(path, 0o600);
    const link = join(dir, 'link.json');
    symlinkSync(path, link);
    expect(createProbeCache({ path: link }).lookup(backend, context)).toBeUndefined();
  });

  it.skipIf(!isRoot)('as root, refuses a cache file owned by another user', () => {
    createProbeCache({ path }).store(backend, context, availableProbe());
    chownSync(path, 65534, 65534);
    const lines: string[] = [];
    expect(
      createProbeCache({ path, log: (line) => lines.push(line) }).lookup(backend, context),
    ).toBeUndefined();
    expect(lines[0]).toMatch(/not a private file owned by uid 0/);
  });

  it.skipIf(!isRoot)(
    'as root, neither reads, writes nor deletes in a cache directory another user controls',
    () => {
      // sudo -E: root runs with HOME or XDG_CACHE_HOME pointing into a user's directory. A
      // cache file there that passes every file check (root's own, mode 0600) is still not
      // used, and nothing is written there, whichever directory on the path the user owns.
      for (const owned of ['home', 'home/.cache', 'home/.cache/polythene']) {
        const base = join(dir, owned.replaceAll('/', '-'));
        const cacheDir = join(base, 'home/.cache/polythene');
        const userPath = join(cacheDir, 'probe-v1.json');
        mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
        createProbeCache({ path: userPath }).store(backend, context, availableProbe());
        chownSync(join(base, owned), 65534, 65534);
        const lines: string[] = [];
        const cache = createProbeCache({ path: userPath, log: (line) => lines.push(line) });
        expect(cache.lookup(backend, context)).toBeUndefined();
        expect(lines[0]).toMatch(/is owned by uid 65534/);
        const before = readFileSync(userPath, 'utf8');
        cache.store(backend, context, availableProbe(['pid']));
        cache.invalidate('fake');
        expect(readFileSync(userPath, 'utf8')).toBe(before);
        expect(readdirSync(cacheDir)).toEqual(['probe-v1.json']);
      }
    },
  );

  it('neither reads nor writes through a symlink or a directory others can write', () => {
    createProbeCache({ path }).store(backend, context, availableProbe());
    symlinkSync(join(dir, 'cache'), join(dir, 'linked'));
    const linked = join(dir, 'linked', 'probe-v1.json');
    expect(createProbeCache({ path: linked }).lookup(backend, context)).toBeUndefined();
    chmodSync(join(dir, 'cache'), 0o770);
    expect(createProbeCache({ path }).lookup(backend, context)).toBeUndefined();
    chmodSync(join(dir, 'cache'), 0o700);
    chmodSync(dir, 0o777);
    expect(createProbeCache({ path }).lookup(backend, context)).toBeUndefined();
    const before = readFileSync(path, 'utf8');
    createProbeCache({ path }).store(backend, context, availableProbe(['pid']));
    expect(readFileSync(path, 'utf8')).toBe(before);
    // Sticky, like /tmp: fine.
    chmodSync(dir, 0o1777);
    expect(createProbeCache({ path }).lookup(backend, context)).toBeDefined();
  });

  it('logs instead of throwing when the cache cannot be written', () => {
    writeFileSync(join(dir, 'blocker'), '');
    const lines: string[] = [];
    const cache = createProbeCache({
      path: join(dir, 'blocker', 'probe-v1.json'),
      log: (line) => lines.push(line),
    });
    expect(() => cache.store(backend, context, availableProbe())).not.toThrow();
    expect(lines[0]).toMatch(/not written/);
  });

  it('serves every repeat selection from the cache, also through a fresh cache object', async () => {
    const registry = createRegistry([
      createFakeBackend(
        'bwrap',
        { available: false, reason: 'x', missing: { tool: 'bwrap', debianPackage: 'bubblewrap' } },
        { binaries: ['bwrap'] },
      ),
      createFakeBackend('proot', availableProbe(), { binaries: ['faketool'] }),
    ]);
    await selectBackend({ registry, context, cache: createProbeCache({ path }) });
    // Speed is measured by `pnpm bench` (exec); here: a new process (a fresh cache object
    // reading the file) never probes again.
    for (let round = 0; round < 5; round += 1) {
      const selection = await selectBackend({
        registry,
        context,
        cache: createProbeCache({ path }),
      });
      expect(selection.isCached).toBe(true);
    }
  });
});

describe('cache file format', () => {
  it('is versioned JSON with one entry per backend', () => {
    createProbeCache({ path }).store(backend, context, availableProbe());
    const content = JSON.parse(readFileSync(path, 'utf8')) as { version: number; entries: object };
    expect(content.version).toBe(1);
    expect(Object.keys(content.entries)).toEqual(['fake']);
  });
});
