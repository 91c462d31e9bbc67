import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hasErrorCode } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import { buildTar, type TarEntry } from '../test/helpers/build-tar.ts';
import { normalizeMemberPath, TarMemberFilter } from './tar-member-filter.ts';

async function runFilter(
  archive: Buffer,
  chunkBytes = 4096,
): Promise<{ output: Buffer; filter: TarMemberFilter }> {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < archive.length; offset += chunkBytes) {
    chunks.push(archive.subarray(offset, offset + chunkBytes));
  }
  const output: Buffer[] = [];
  const filter = new TarMemberFilter();
  await pipeline(
    Readable.from(chunks),
    filter,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        output.push(Buffer.from(chunk));
        callback();
      },
    }),
  );
  return { output: Buffer.concat(output), filter };
}

async function refusal(entries: TarEntry[]): Promise<string> {
  try {
    await runFilter(buildTar(entries));
  } catch (error) {
    expect(hasErrorCode(error, 'POLYTHENE_EXTRACT_FAILED')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('the filter accepted the archive');
}

const legit: TarEntry[] = [
  { name: 'bin/', type: '5' },
  { name: 'bin/busybox', data: 'x'.repeat(1500), mode: 0o4755 },
  { name: 'bin/sh', type: '2', linkName: 'busybox' },
  { name: 'lib', type: '2', linkName: '/usr/lib' },
  { name: 'bin/ash', type: '1', linkName: 'bin/busybox' },
  { name: `deep/${'d'.repeat(120)}/file`, data: 'long', gnuLongName: true },
  { name: 'paxname', data: 'pax', pax: { path: `p/${'q'.repeat(150)}` } },
  { name: 'file', prefix: 'usr/share' },
];

describe('TarMemberFilter', () => {
  it('passes a legitimate archive through byte for byte, whatever the chunking', async () => {
    const archive = buildTar(legit);
    for (const chunkBytes of [1, 7, 511, 512, 513, 65536]) {
      const { output, filter } = await runFilter(archive, chunkBytes);
      expect(output.equals(archive)).toBe(true);
      expect(filter.stats.membersPassed).toBe(legit.length);
      expect(filter.stats.bytesRead).toBe(archive.length);
    }
  });

  it('drops device nodes and fifos with their extension headers, and counts them', async () => {
    const archive = buildTar([
      { name: 'dev/', type: '5' },
      { name: 'dev/null', type: '3' },
      { name: 'dev/sda', type: '4', pax: { path: 'dev/sda-long' } },
      { name: 'run/fifo', type: '6' },
      { name: 'keep', data: 'ok' },
    ]);
    const { output, filter } = await runFilter(archive, 100);
    expect(filter.stats.skippedSpecialFiles).toBe(3);
    expect(filter.stats.membersPassed).toBe(2);
    expect(
      output.equals(
        buildTar([
          { name: 'dev/', type: '5' },
          { name: 'keep', data: 'ok' },
        ]),
      ),
    ).toBe(true);
  });

  it('can give directories owner rwx, with a valid checksum', async () => {
    const archive = buildTar([
      { name: 'usr/', type: '5', mode: 0o555 },
      { name: 'usr/file', data: 'x', mode: 0o444 },
    ]);
    const filter = new TarMemberFilter({ makeDirectoriesOwnerWritable: true });
    const output: Buffer[] = [];
    await pipeline(
      Readable.from([archive]),
      filter,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          output.push(Buffer.from(chunk));
          callback();
        },
      }),
    );
    const rewritten = Buffer.concat(output);
    expect(rewritten.toString('latin1', 100, 107)).toBe('0000755');
    expect(rewritten.toString('latin1', 612, 619)).toBe('0000444');
    // The rewritten header still passes a checksum-verifying reader.
    const { filter: second } = await runFilter(rewritten);
    expect(second.stats.membersPassed).toBe(2);
  });

  it.each([
    ['an absolute name', [{ name: '/etc/passwd', data: 'x' }], 'absolute'],
    ['a ".." component', [{ name: 'a/../../x', data: 'x' }], '".."'],
    ['".." through a pax path', [{ name: 'ok', data: 'x', pax: { path: '../x' } }], '".."'],
    [
      '".." through a GNU long name',
      [{ name: `../${'l'.repeat(120)}`, data: 'x', gnuLongName: true }],
      '".."',
    ],
    ['".." in the ustar prefix', [{ name: 'x', prefix: '..' }], '".."'],
    [
      'a write through an absolute symlink',
      [
        { name: 'escape', type: '2', linkName: '/etc' },
        { name: 'escape/passwd', data: 'x' },
      ],
      'beneath symlink',
    ],
    [
      'a write through a relative symlink',
      [
        { name: 'a/', type: '5' },
        { name: 'a/up', type: '2', linkName: '../..' },
        { name: 'a/up/x/y', data: 'x' },
      ],
      'beneath symlink',
    ],
    [
      'a directory replacing a symlink, then a file beneath',
      [
        { name: 'escape', type: '2', linkName: '/tmp' },
        { name: 'escape/', type: '5' },
        { name: 'escape/x', data: 'x' },
      ],
      'beneath symlink',
    ],
    ['an absolute hard link', [{ name: 'h', type: '1', linkName: '/etc/shadow' }], 'absolute'],
    ['a hard link climbing out', [{ name: 'h', type: '1', linkName: '../outside' }], '".."'],
    [
      'a hard link through a symlink',
      [
        { name: 's', type: '2', linkName: '/etc' },
        { name: 'h', type: '1', linkName: 's/shadow' },
      ],
      'beneath symlink',
    ],
    [
      'a write through a hard link to a symlink',
      [
        { name: 's', type: '2', linkName: '/etc' },
        { name: 'h', type: '1', linkName: 's' },
        { name: 'h/passwd', data: 'x' },
      ],
      'beneath symlink',
    ],
    [
      'a directory that claims data',
      [{ name: 'd/', type: '5', sizeField: 512, data: Buffer.alloc(512) }],
      'claims',
    ],
    [
      'a sparse pax member',
      [{ name: 'x', data: 'x', pax: { 'GNU.sparse.name': '../x' } }],
      'GNU.sparse',
    ],
    ['an unknown member type', [{ name: 'x', type: 'S' }], 'unsupported type'],
    [
      'a global header renaming members',
      [{ name: 'x', type: 'g', data: '16 path=../../x\n' }],
      'global',
    ],
  ])('refuses %s', async (_label, entries, reason) => {
    expect(await refusal(entries as TarEntry[])).toContain(reason);
  });

  it('refuses a truncated archive and a corrupt header', async () => {
    await expect(
      runFilter(buildTar([{ name: 'x', data: 'abc' }], { endMarker: false })),
    ).rejects.toThrow(/ended early/);
    const corrupt = buildTar([{ name: 'x', data: 'abc' }]);
    corrupt[0] = 'y'.charCodeAt(0);
    await expect(runFilter(corrupt)).rejects.toThrow(/checksum/);
  });
});

describe('normalizeMemberPath', () => {
  it('drops "." and empty components', () => {
    expect(normalizeMemberPath('./usr//bin/./ls')).toEqual(['usr', 'bin', 'ls']);
    expect(normalizeMemberPath('./')).toEqual([]);
  });
});
