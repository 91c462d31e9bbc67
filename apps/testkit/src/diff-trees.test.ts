import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { diffTrees } from './diff-trees.ts';

let work: string;
let before: string;
let after: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'polythene-diff-trees-'));
  before = join(work, 'before');
  after = join(work, 'after');
  await mkdir(join(before, 'etc/conf.d'), { recursive: true });
  await mkdir(join(before, 'var/lib/gone'), { recursive: true });
  await writeFile(join(before, 'etc/passwd'), 'root:x:0:0\n');
  await writeFile(join(before, 'etc/hosts'), 'localhost\n');
  await writeFile(join(before, 'etc/conf.d/a'), 'a');
  await writeFile(join(before, 'var/lib/gone/file'), 'x');
  await symlink('/etc/passwd', join(before, 'link'));
  // The same copy a box gets: cp -a keeps modes, owners and nanosecond mtimes.
  execFileSync('cp', ['-a', '-T', before, after]);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

it('finds nothing in an untouched copy', async () => {
  expect(await diffTrees(before, after)).toEqual({ added: [], modified: [], deleted: [] });
});

it('reports added, modified and deleted paths like the store does for overlays', async () => {
  await writeFile(join(after, 'etc/passwd'), 'root:x:0:0:changed\n');
  await chmod(join(after, 'etc/hosts'), 0o600);
  await mkdir(join(after, 'opt/tool'), { recursive: true });
  await writeFile(join(after, 'opt/tool/run'), '#!/bin/sh\n');
  await rm(join(after, 'var/lib/gone'), { recursive: true });
  await unlink(join(after, 'link'));
  await symlink('/etc/hosts', join(after, 'link'));
  // A new file in a directory does not make the directory modified.
  await writeFile(join(after, 'etc/conf.d/b'), 'b');
  expect(await diffTrees(before, after)).toEqual({
    added: ['/etc/conf.d/b', '/opt', '/opt/tool', '/opt/tool/run'],
    modified: ['/etc/hosts', '/etc/passwd', '/link'],
    deleted: ['/var/lib/gone'],
  });
});

it('reports a type change as modified and does not list the old directory contents', async () => {
  await rm(join(after, 'etc/conf.d'), { recursive: true });
  await writeFile(join(after, 'etc/conf.d'), 'now a file');
  expect(await diffTrees(before, after)).toEqual({
    added: [],
    modified: ['/etc/conf.d'],
    deleted: [],
  });
});
