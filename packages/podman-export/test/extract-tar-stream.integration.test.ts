import { spawnSync } from 'node:child_process';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { hasErrorCode } from '@polythene/errors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractTarStream } from '../src/index.ts';
import { buildTar, type TarEntry } from './helpers/build-tar.ts';

let base: string;
let target: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'pe-extract-'));
  target = join(base, 'target');
  outside = join(base, 'outside');
  await mkdir(target);
  await mkdir(outside);
  await writeFile(join(outside, 'victim'), 'original');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function expectOutsideUntouched(): Promise<void> {
  expect(await readdir(outside)).toEqual(['victim']);
  expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('original');
  expect(await readdir(base)).toEqual(['outside', 'target']);
}

async function extractRefused(entries: TarEntry[]): Promise<string> {
  const error = await extractTarStream(Readable.from([buildTar(entries)]), target).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(hasErrorCode(error, 'POLYTHENE_EXTRACT_FAILED')).toBe(true);
  return (error as Error).message;
}

describe('extractTarStream against GNU tar', () => {
  it('extracts a legitimate tree: modes, setuid, and symlinks exactly as the image has them', async () => {
    await chmod(target, 0o700);
    const stats = await extractTarStream(
      Readable.from([
        buildTar([
          { name: './', type: '5', mode: 0o555 },
          { name: 'bin/', type: '5' },
          { name: 'bin/tool', data: '#!/bin/sh\n', mode: 0o4755 },
          { name: 'bin/sh', type: '2', linkName: 'tool' },
          { name: 'bin/hard', type: '1', linkName: 'bin/tool' },
          { name: 'lib64', type: '2', linkName: '/usr/lib64' },
          { name: 'usr/bin/up', type: '2', linkName: '../../bin/tool' },
          { name: 'etc/', type: '5', mode: 0o555 },
          { name: 'etc/written-after-readonly-dir', data: 'ok' },
          { name: 'dev/null', type: '3' },
          { name: 'run/fifo', type: '6' },
          { name: `long/${'n'.repeat(150)}`, data: 'long', gnuLongName: true },
        ]),
      ]),
      target,
    );
    expect(stats.skippedSpecialFiles).toBe(2);
    expect(stats.filesExtracted).toBe(9);
    // The archive's root entry does not re-mode the caller's directory.
    expect((await stat(target)).mode & 0o777).toBe(0o700);
    expect((await stat(join(target, 'bin/tool'))).mode & 0o7777).toBe(0o4755);
    expect((await stat(join(target, 'bin/hard'))).ino).toBe(
      (await stat(join(target, 'bin/tool'))).ino,
    );
    expect(await readlink(join(target, 'bin/sh'))).toBe('tool');
    expect(await readlink(join(target, 'lib64'))).toBe('/usr/lib64');
    expect(await readlink(join(target, 'usr/bin/up'))).toBe('../../bin/tool');
    expect((await stat(join(target, 'etc'))).mode & 0o777).toBe(0o555);
    expect(await readFile(join(target, 'etc/written-after-readonly-dir'), 'utf8')).toBe('ok');
    await expect(lstat(join(target, 'dev/null'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(target, 'run/fifo'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(target, `long/${'n'.repeat(150)}`), 'utf8')).toBe('long');
    await chmod(join(target, 'etc'), 0o755);
  });

  it.each<[string, TarEntry[]]>([
    ['an absolute member name', [{ name: `${'/'}tmp/pe-never/victim`, data: 'pwned' }]],
    ['a ".." member name', [{ name: '../outside/victim', data: 'pwned' }]],
    [
      'a write through an absolute symlink',
      [
        { name: 'esc', type: '2', linkName: '' },
        { name: 'esc/victim', data: 'pwned' },
      ],
    ],
    [
      'a write through a relative symlink',
      [
        { name: 'esc', type: '2', linkName: '../outside' },
        { name: 'esc/victim', data: 'pwned' },
      ],
    ],
    ['a hard link to a file outside', [{ name: 'h', type: '1', linkName: '../outside/victim' }]],
    [
      'a write through a hard link to a symlink',
      [
        { name: 's', type: '2', linkName: '../outside' },
        { name: 'h', type: '1', linkName: 's' },
        { name: 'h/victim', data: 'pwned' },
      ],
    ],
  ])('refuses %s and writes nothing outside', async (_label, entries) => {
    const fixed = entries.map((entry) =>
      entry.type === '2' && entry.linkName === '' ? { ...entry, linkName: outside } : entry,
    );
    await extractRefused(fixed);
    await expectOutsideUntouched();
  });

  it('keeps an escaping symlink as a symlink without writing through it', async () => {
    await extractTarStream(
      Readable.from([
        buildTar([
          { name: 'esc', type: '2', linkName: outside },
          { name: 'esc', data: 'replaced the link, not the target' },
          { name: 'rel', type: '2', linkName: '../outside/victim' },
        ]),
      ]),
      target,
    );
    // GNU tar may re-create the deferred link over the file (last-wins is not guaranteed);
    // what matters is that nothing was written through it.
    await expectOutsideUntouched();
    expect(await readlink(join(target, 'rel'))).toBe('../outside/victim');
  });

  it('refuses a target that is not empty, or is a symlink', async () => {
    await writeFile(join(target, 'x'), '');
    await expect(extractTarStream(Readable.from([buildTar([])]), target)).rejects.toThrow(
      /not empty/,
    );
    await expect(
      extractTarStream(Readable.from([buildTar([])]), join(base, 'outside', 'victim')),
    ).rejects.toThrow(/not a directory/);
  });

  it("reports a tar failure (no space left) as POLYTHENE_EXTRACT_FAILED with tar's line", async () => {
    const tiny = join(base, 'tiny');
    await mkdir(tiny);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', tiny]);
    if (mounted.status !== 0) {
      // Only root can mount a tmpfs; the unprivileged run covers the other paths.
      expect(process.getuid?.()).not.toBe(0);
      return;
    }
    try {
      const error = await extractTarStream(
        Readable.from([buildTar([{ name: 'big', data: Buffer.alloc(1024 * 1024, 1) }])]),
        tiny,
      ).catch((caught: unknown) => caught);
      expect(hasErrorCode(error, 'POLYTHENE_EXTRACT_FAILED')).toBe(true);
      expect((error as Error).message).toMatch(/no space left/);
    } finally {
      spawnSync('umount', [tiny]);
    }
  });

  it('stops on abort with POLYTHENE_INTERRUPTED and leaves no tar behind', async () => {
    const controller = new AbortController();
    const endless = new Readable({ read() {} });
    endless.push(buildTar([{ name: 'f', data: 'x' }], { endMarker: false }));
    const promise = extractTarStream(endless, target, { abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const error = await promise.catch((caught: unknown) => caught);
    expect(hasErrorCode(error, 'POLYTHENE_INTERRUPTED')).toBe(true);
    const tars = spawnSync('pgrep', ['-f', `--directory=${target}`])
      .stdout.toString()
      .trim();
    expect(tars).toBe('');
  });
});
