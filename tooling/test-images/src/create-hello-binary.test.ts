import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createHelloBinary } from './create-hello-binary.ts';
import { isStaticElf } from './is-static-elf.ts';

describe('createHelloBinary', () => {
  it('is a static ELF', () => {
    expect(isStaticElf(createHelloBinary('x64'))).toBe(true);
    expect(isStaticElf(createHelloBinary('arm64'))).toBe(true);
  });

  it.skipIf(arch() !== 'x64' && arch() !== 'arm64')(
    'runs on this host, prints its greeting and exits 0',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'polythene-hello-'));
      try {
        const path = join(dir, 'hello');
        await writeFile(path, createHelloBinary());
        await chmod(path, 0o755);
        const result = await execa(path, ['ignored', 'args']);
        expect(result.exitCode).toBe(0);
        expect(result.stdout).toBe('hello from polythene');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('refuses an architecture it cannot assemble for', () => {
    expect(() => createHelloBinary('riscv64')).toThrow(/only x64 and arm64/);
  });
});

describe('isStaticElf', () => {
  it('tells a dynamic executable from a static one', async () => {
    const { readFile } = await import('node:fs/promises');
    expect(isStaticElf(await readFile(process.execPath))).toBe(false);
    expect(isStaticElf(Buffer.from('#!/bin/sh\n'))).toBe(false);
  });
});
