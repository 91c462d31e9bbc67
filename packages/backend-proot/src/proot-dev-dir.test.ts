import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProotDevDir } from './proot-dev-dir.ts';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'polythene-proot-dev-test-'));
});
afterEach(() => {
  spawnSync('chmod', ['-R', 'u+w', work]);
  rmSync(work, { recursive: true, force: true });
});

describe('openProotDevDir', () => {
  it('makes a read-only /dev for one run in a private directory in /dev/shm', () => {
    const run = openProotDevDir({ TMPDIR: work });
    const parent = `/dev/shm/polythene-proot-dev-${process.geteuid?.()}`;
    expect(run.path.startsWith(join(parent, `${process.pid}-`))).toBe(true);
    expect(lstatSync(parent).mode & 0o777).toBe(0o700);
    expect(lstatSync(run.path).mode & 0o777).toBe(0o555);
    expect(readdirSync(run.path).sort()).toEqual(
      [
        'fd',
        'full',
        'null',
        'random',
        'stderr',
        'stdin',
        'stdout',
        'tty',
        'urandom',
        'zero',
      ].sort(),
    );
    expect(readlinkSync(join(run.path, 'fd'))).toBe('/proc/self/fd');
    expect(readlinkSync(join(run.path, 'stderr'))).toBe('/proc/self/fd/2');
    run.release();
    expect(() => lstatSync(run.path)).toThrow(/ENOENT/);
  });

  it.skipIf(process.geteuid?.() !== 0)(
    "as root, gives device nodes of its own: links to root's copies, never the host's",
    () => {
      const parent = join(work, 'parent');
      const run = openProotDevDir({}, [parent], true);
      expect(run.hasDeviceNodes).toBe(true);
      const own = lstatSync(join(run.path, 'null'));
      expect(own.isCharacterDevice()).toBe(true);
      expect(own.ino).toBe(lstatSync(join(parent, 'devices', 'null')).ino);
      expect(own.ino).not.toBe(lstatSync('/dev/null').ino);
      run.release();
      expect(readdirSync(parent)).toEqual(['devices']);
    },
  );

  it('for a run on a terminal, adds mount points for devpts and ptmx and a copy of the helper, and removes them', () => {
    const parent = join(work, 'parent');
    const helper = join(work, 'polythene-pty-x64');
    writeFileSync(helper, 'the helper', { mode: 0o755 });
    const run = openProotDevDir({}, [parent], false, helper);
    expect(lstatSync(join(run.path, 'pts')).isDirectory()).toBe(true);
    expect(lstatSync(join(run.path, 'ptmx')).isFile()).toBe(true);
    const copy = join(run.path, '.polythene', 'polythene-pty-x64');
    expect(readFileSync(copy, 'utf8')).toBe('the helper');
    // A file of its own: the run may not change the host's.
    expect(lstatSync(copy).ino).not.toBe(lstatSync(helper).ino);
    expect(lstatSync(copy).mode & 0o777).toBe(0o555);
    run.release();
    expect(readdirSync(parent)).toEqual([]);
    const plain = openProotDevDir({}, [parent], false);
    expect(readdirSync(plain.path)).not.toContain('pts');
    plain.release();
  });

  it('without device nodes, gives empty files for the host devices to be bound on', () => {
    const run = openProotDevDir({}, [join(work, 'parent')], false);
    expect(run.hasDeviceNodes).toBe(false);
    const file = lstatSync(join(run.path, 'null'));
    expect([file.isFile(), file.size, file.mode & 0o777]).toEqual([true, 0, 0o444]);
    run.release();
  });

  it('gives each run its own, gone once released', () => {
    const parent = join(work, 'parent');
    const first = openProotDevDir({}, [parent], false);
    const second = openProotDevDir({}, [parent], false);
    expect(second.path).not.toBe(first.path);
    first.release();
    second.release();
    expect(readdirSync(parent)).toEqual([]);
  });

  it('removes what a command added under /dev with the directory', () => {
    const parent = join(work, 'parent');
    const run = openProotDevDir({}, [parent], false);
    chmodSync(run.path, 0o755);
    writeFileSync(join(run.path, 'written-by-the-command'), '');
    run.release();
    expect(readdirSync(parent)).toEqual([]);
  });

  it('removes the directories of polythene processes that are gone, and only those', () => {
    const parent = join(work, 'parent');
    const gone = spawnSync('true').pid as number;
    for (const name of [`${gone}-killed`, `${process.ppid}-running`]) {
      mkdirSync(join(parent, name), { recursive: true });
      writeFileSync(join(parent, name, 'written-by-the-command'), '');
      chmodSync(join(parent, name), 0o555);
    }
    chmodSync(parent, 0o700);
    // A link in its place is removed, and what it points to left as it was.
    const outside = join(work, 'outside');
    writeFileSync(outside, '', { mode: 0o644 });
    symlinkSync(outside, join(parent, `${gone}-link`));
    openProotDevDir({}, [parent], false).release();
    expect(readdirSync(parent)).toEqual([`${process.ppid}-running`]);
    expect(lstatSync(outside).mode & 0o777).toBe(0o644);
  });

  it('passes over a directory others can write, then one it cannot make, for the temp dir', () => {
    const planted = join(work, 'planted');
    mkdirSync(planted, { mode: 0o777 });
    chmodSync(planted, 0o777);
    writeFileSync(join(work, 'not-a-directory'), '');
    const run = openProotDevDir({ TMPDIR: work }, [planted, join(work, 'not-a-directory', 'x')]);
    expect(run.path.startsWith(join(work, `polythene-proot-dev-${process.pid}-`))).toBe(true);
    expect(readdirSync(planted)).toEqual([]);
    expect(readlinkSync(join(run.path, 'stdin'))).toBe('/proc/self/fd/0');
    run.release();
    expect(() => lstatSync(run.path)).toThrow(/ENOENT/);
  });
});
