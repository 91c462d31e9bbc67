import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTestImages, type TestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, listStoreNames, runPolythene, UUID_PATTERN } from './run-polythene.ts';

let images: TestImages;

beforeAll(async () => {
  images = await ensureTestImages();
});

// Entries and their parts, without the names directory.
async function entryNames(store: string): Promise<string[]> {
  return (await listStoreNames(store)).filter((name) => name !== '.names' && name !== '.inuse');
}

describe('entry names', () => {
  it('names an entry at pull and clone, and every command takes the name', async () => {
    const store = await freshStorePath();
    const pulled = await runPolythene([
      'pull',
      '--name',
      'dev',
      images.busybox,
      '--store',
      store,
      '--quiet',
    ]);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const id = pulled.stdout.trim();
    expect(id).toMatch(UUID_PATTERN);

    const ran = await runPolythene([
      'exec',
      'dev',
      '--store',
      store,
      '--',
      'sh',
      '-c',
      'echo hi > /made-here; cat /made-here',
    ]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stdout).toBe('hi\n');
    const inspected = await runPolythene(['inspect', 'dev', '--store', store]);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ id, image: images.busybox });
    const diffed = await runPolythene(['diff', 'dev', '--store', store, '--json']);
    expect(JSON.parse(diffed.stdout).added).toContain('/made-here');

    const cloned = await runPolythene([
      'clone',
      'dev',
      '--name',
      'dev-try',
      '--method',
      'copy',
      '--store',
      store,
    ]);
    expect(cloned.exitCode, cloned.stderr).toBe(0);
    const cloneId = cloned.stdout.trim();
    const table = await runPolythene(['list', '--store', store]);
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+dev\\s+${images.busybox}`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^${cloneId}\\s+dev-try\\s`, 'm'));
    const json = JSON.parse((await runPolythene(['list', '--json', '--store', store])).stdout);
    expect(
      json.map((entry: { id: string; name: string | null }) => [entry.id, entry.name]),
    ).toEqual([
      [id, 'dev'],
      [cloneId, 'dev-try'],
    ]);

    const filtered = async (...filters: string[]) =>
      JSON.parse(
        (
          await runPolythene([
            'list',
            '--json',
            '--store',
            store,
            ...filters.flatMap((f) => ['--filter', f]),
          ])
        ).stdout,
      ).map((entry: { id: string }) => entry.id);
    expect(await filtered('name=dev')).toEqual([id]);
    expect(await filtered('name=dev*')).toEqual([id, cloneId]);
    expect(await filtered('name=dev*', `image=${images.busybox}`)).toEqual([id, cloneId]);
    expect(await filtered('image=nothing*')).toEqual([]);
    const badFilter = await runPolythene(['list', '--filter', 'label=x', '--store', store]);
    expect(badFilter.exitCode).toBe(2);

    // The clone is the reset point: rename it, then remove it by name.
    expect((await runPolythene(['rename', 'dev-try', 'try2', '--store', store])).exitCode).toBe(0);
    const tryRun = await runPolythene([
      'exec',
      'try2',
      '--store',
      store,
      '--',
      'cat',
      '/made-here',
    ]);
    expect(tryRun.stdout).toBe('hi\n');
    expect((await runPolythene(['exec', 'dev-try', '--store', store, '--', 'true'])).exitCode).toBe(
      1,
    );
    expect((await runPolythene(['rm', 'try2', '--store', store])).exitCode).toBe(0);
    expect((await runPolythene(['rename', id, 'renamed', '--store', store])).exitCode).toBe(0);
    expect((await runPolythene(['rm', 'renamed', '--store', store])).exitCode).toBe(0);
    expect(await entryNames(store)).toEqual([]);
    expect((await readdir(join(store, '.names'))).filter((name) => !name.startsWith('.'))).toEqual(
      [],
    );
  });

  it.each([
    ['-rf'],
    ['.tmp-x'],
    ['a/b'],
    ['x'.repeat(65)],
    ['0190f5c2-0000-7000-8000-000000000000'],
  ])('refuses the name %j with exit 2 naming the rule, and makes nothing', async (name) => {
    const store = await freshStorePath();
    for (const args of [
      ['pull', `--name=${name}`, images.busybox, '--quiet'],
      ['rename', '0190f5c2-0000-7000-8000-000000000000', name],
    ]) {
      const run = await runPolythene([...args, '--store', store]);
      expect(run.exitCode, args.join(' ')).toBe(2);
      // As a word of its own, `-rf` is an unknown option to the command line parser.
      if (!(args[0] === 'rename' && name.startsWith('-')))
        expect(run.stderr).toMatch(
          /^polythene: invalid entry name .*starts with a letter or a digit/,
        );
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await entryNames(store)).toEqual([]);
  });

  it('refuses a taken name at pull, clone and rename, and leaves nothing behind', async () => {
    const store = await freshStorePath();
    const first = (
      await runPolythene(['pull', '--name', 'dev', images.busybox, '--store', store, '--quiet'])
    ).stdout.trim();
    const other = (
      await runPolythene(['pull', images.busybox, '--store', store, '--quiet'])
    ).stdout.trim();
    const before = await listStoreNames(store);
    for (const args of [
      ['pull', '--name', 'dev', images.busybox, '--quiet'],
      ['clone', other, '--name', 'dev', '--method', 'copy'],
      ['rename', other, 'dev'],
    ]) {
      const run = await runPolythene([...args, '--store', store]);
      expect(run.exitCode, args.join(' ')).toBe(1);
      expect(run.stderr).toContain(`the name dev is taken by entry ${first}`);
    }
    expect(await listStoreNames(store)).toEqual(before);
  });

  it('lets exactly one of two concurrent pulls with one name win; the other makes nothing', async () => {
    const store = await freshStorePath();
    // Create the store first so neither pull races to make it.
    expect((await runPolythene(['list', '--store', store])).exitCode).toBe(0);
    const runs = await Promise.all(
      [0, 1].map(() =>
        runPolythene(['pull', '--name', 'race', images.busybox, '--store', store, '--quiet']),
      ),
    );
    const winners = runs.filter((run) => run.exitCode === 0);
    const losers = runs.filter((run) => run.exitCode !== 0);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(losers[0]?.exitCode).toBe(1);
    expect(losers[0]?.stderr).toMatch(/^polythene: the name race is taken by entry /);
    const id = winners[0]?.stdout.trim() as string;
    expect(await entryNames(store)).toEqual([id, `${id}.json`, `${id}.manifest`].sort());
    const resolved = await runPolythene(['inspect', 'race', '--store', store]);
    expect(JSON.parse(resolved.stdout).id).toBe(id);
  });
});
