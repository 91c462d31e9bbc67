import { spawnSync } from 'node:child_process';
import { closeSync, readdirSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createUnlinkedFile, openSideChannelFile } from './side-channel-file.ts';

const ownFiles = (): string[] =>
  readdirSync('/dev/shm').filter((name) => name.startsWith(`polythene-${process.pid}-`));

describe('openSideChannelFile', () => {
  it('hands its contents to a child process through the fd, from the start', () => {
    const file = openSideChannelFile('--first\0--second value\0');
    try {
      const child = spawnSync('/bin/sh', ['-c', 'cat <&3 | tr "\\0" "\\n"'], {
        stdio: ['ignore', 'pipe', 'inherit', file.fd],
        encoding: 'utf8',
      });
      expect(child.stdout).toBe('--first\n--second value\n');
    } finally {
      file.close();
    }
  });

  it('reads what a child process wrote, however often it is read', () => {
    const file = openSideChannelFile();
    try {
      expect(file.readText()).toBe('');
      spawnSync('/bin/sh', ['-c', 'echo "{ \\"child-pid\\": 7 }" >&3'], {
        stdio: ['ignore', 'inherit', 'inherit', file.fd],
      });
      expect(file.readText()).toBe('{ "child-pid": 7 }\n');
      spawnSync('/bin/sh', ['-c', 'echo "{ \\"exit-code\\": 0 }" >&3'], {
        stdio: ['ignore', 'inherit', 'inherit', file.fd],
      });
      expect(file.readText()).toBe('{ "child-pid": 7 }\n{ "exit-code": 0 }\n');
    } finally {
      file.close();
    }
  });

  it('leaves no name behind in /dev/shm, even while open', () => {
    const before = ownFiles();
    const file = openSideChannelFile('secret=value\0');
    expect(ownFiles()).toEqual(before);
    file.close();
    file.close();
    expect(file.readText()).toBe('');
  });

  it('holds contents larger than one read', () => {
    const big = 'x'.repeat(10_000);
    const file = openSideChannelFile(big);
    try {
      expect(file.readText()).toBe(big);
    } finally {
      file.close();
    }
  });
});

describe('createUnlinkedFile', () => {
  it.each([
    ['unnamed (O_TMPFILE)', true],
    ['named, then unlinked', false],
  ])('gives a private read-write file no path names: %s', (_label, allowUnnamed) => {
    const before = ownFiles();
    const fd = createUnlinkedFile({ allowUnnamed });
    try {
      expect(ownFiles()).toEqual(before);
      // The kernel names an unnamed file "#inode", a removed one by its old name.
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      expect(target).toMatch(/ \(deleted\)$/);
      expect(target.startsWith('/dev/shm/#')).toBe(allowUnnamed);
      writeSync(fd, 'abc', 0);
      const buffer = Buffer.alloc(3);
      readSync(fd, buffer, 0, 3, 0);
      expect(buffer.toString()).toBe('abc');
    } finally {
      closeSync(fd);
    }
  });
});
