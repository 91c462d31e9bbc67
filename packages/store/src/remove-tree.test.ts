import { chmod, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { measureTree } from './measure-tree.ts';
import { removeTree } from './remove-tree.ts';

let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'polythene-remove-'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

describe('removeTree', () => {
  it('removes a tree with read-only and unreadable directories', async () => {
    const tree = join(base, 'tree');
    await mkdir(join(tree, 'ro/deeper'), { recursive: true });
    await mkdir(join(tree, 'locked'), { recursive: true });
    await writeFile(join(tree, 'ro/file'), 'x');
    await writeFile(join(tree, 'ro/deeper/file'), 'y');
    await writeFile(join(tree, 'locked/file'), 'z');
    await chmod(join(tree, 'ro/deeper'), 0o555);
    await chmod(join(tree, 'ro'), 0o555);
    await chmod(join(tree, 'locked'), 0o000);
    await chmod(tree, 0o555);
    await removeTree(tree);
    expect(await exists(tree)).toBe(false);
  });

  it('removes symlinks without following them', async () => {
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep'), 'precious');
    const tree = join(base, 'tree');
    await mkdir(tree);
    await symlink(outside, join(tree, 'abs-link'));
    await symlink('../outside', join(tree, 'rel-link'));
    await symlink('/nonexistent', join(tree, 'dangling'));
    await removeTree(tree);
    expect(await exists(tree)).toBe(false);
    expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('precious');
  });

  it('refuses a path that is itself a symlink and leaves its target alone', async () => {
    const target = join(base, 'target');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'precious');
    await symlink(target, join(base, 'link'));
    await expect(removeTree(join(base, 'link'))).rejects.toMatchObject({ code: 'POLYTHENE_USAGE' });
    expect(await exists(join(base, 'link'))).toBe(true);
    expect(await readFile(join(target, 'keep'), 'utf8')).toBe('precious');
  });

  it('treats a missing path as already removed and deletes a plain file', async () => {
    await removeTree(join(base, 'missing'));
    await writeFile(join(base, 'file'), 'x');
    await removeTree(join(base, 'file'));
    expect(await exists(join(base, 'file'))).toBe(false);
  });

  it('removes wide and deep trees', async () => {
    const tree = join(base, 'big');
    let dir = tree;
    for (let depth = 0; depth < 40; depth += 1) {
      dir = join(dir, `d${depth}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'f'), 'x');
    }
    await mkdir(join(tree, 'wide'));
    await Promise.all(
      Array.from({ length: 500 }, (_, index) => writeFile(join(tree, 'wide', `f${index}`), 'x')),
    );
    expect((await measureTree(tree)).fileCount).toBe(540);
    await removeTree(tree);
    expect(await exists(tree)).toBe(false);
  });
});

describe('measureTree', () => {
  it('counts non-directories and their apparent size, hard links once, symlinks unfollowed', async () => {
    const tree = join(base, 'tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'a'), '12345');
    await writeFile(join(tree, 'sub/b'), '123');
    const { link } = await import('node:fs/promises');
    await link(join(tree, 'a'), join(tree, 'sub/a-again'));
    await symlink('/bin', join(tree, 'bin-link'));
    const measured = await measureTree(tree);
    expect(measured).toEqual({ fileCount: 4, sizeBytes: 5 + 3 + '/bin'.length });
  });
});
