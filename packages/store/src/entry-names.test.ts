import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEntryName, newEntryId } from './entry-id.ts';
import { assertEntryName, assertEntryRef, ENTRY_NAME_RULE } from './entry-name.ts';
import { readEntryName, readEntryNames, resolveEntryRef } from './entry-name-lookup.ts';
import {
  claimEntryName,
  dropEntryNames,
  dropStaleEntryNames,
  releaseEntryName,
} from './entry-names.ts';

let storeDir: string;

beforeEach(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'polythene-names-'));
});

afterEach(async () => {
  await rm(storeDir, { recursive: true, force: true });
});

async function committedEntry(): Promise<string> {
  const id = newEntryId();
  await mkdir(join(storeDir, id));
  return id;
}

describe('the name rule', () => {
  it.each(['a', 'dev', 'dev-try', 'Dev_1.2', '0abc', 'x'.repeat(64)])('accepts %j', (name) => {
    expect(isEntryName(name)).toBe(true);
  });

  it.each([
    '',
    'x'.repeat(65),
    '-rf',
    '.tmp-x',
    '_x',
    'a b',
    'a/b',
    '..',
    'é',
    'dev\n',
    '0190f5c2-0000-7000-8000-000000000000',
    '0190F5C2-0000-7000-8000-00000000000A',
  ])('refuses %j with a usage error stating the rule', (name) => {
    expect(isEntryName(name)).toBe(false);
    expect(() => assertEntryName(name)).toThrow(
      expect.objectContaining({
        code: 'POLYTHENE_USAGE',
        message: expect.stringContaining(ENTRY_NAME_RULE),
      }),
    );
  });

  it('accepts a UUID or a name as an entry reference, nothing else', () => {
    expect(assertEntryRef('0190f5c2-0000-7000-8000-000000000000')).toBeTruthy();
    expect(assertEntryRef('dev')).toBe('dev');
    expect(() => assertEntryRef('../x')).toThrow(
      expect.objectContaining({ code: 'POLYTHENE_INVALID_ID' }),
    );
  });
});

describe('names in a store', () => {
  it('claims, resolves, lists, renames and drops a name', async () => {
    const id = await committedEntry();
    await claimEntryName(storeDir, 'dev', id);
    expect(resolveEntryRef(storeDir, 'dev')).toBe(id);
    expect(resolveEntryRef(storeDir, id)).toBe(id);
    expect(await readFile(join(storeDir, '.names', 'dev'), 'utf8')).toBe(`${id}\n`);
    // An entry has one name: a new one replaces the old.
    await claimEntryName(storeDir, 'dev2', id);
    expect(readEntryName(storeDir, 'dev')).toBeUndefined();
    expect(await readEntryNames(storeDir)).toEqual(new Map([[id, 'dev2']]));
    await dropEntryNames(storeDir, id);
    // No name left: what remains is a hand-made directory of that name, looked up as is.
    expect(resolveEntryRef(storeDir, 'dev2')).toBe('dev2');
  });

  it("refuses another live entry's name, and takes over a name whose entry is gone", async () => {
    const first = await committedEntry();
    const second = await committedEntry();
    await claimEntryName(storeDir, 'dev', first);
    await expect(claimEntryName(storeDir, 'dev', second)).rejects.toMatchObject({
      code: 'POLYTHENE_NAME_TAKEN',
      message: expect.stringContaining(first),
    });
    await rm(join(storeDir, first), { recursive: true });
    await claimEntryName(storeDir, 'dev', second);
    expect(resolveEntryRef(storeDir, 'dev')).toBe(second);
  });

  it("holds a pending entry's name while its process lives, and frees it when it is dead", async () => {
    const pending = newEntryId();
    await mkdir(join(storeDir, `.tmp-${pending}.${process.pid}`));
    await claimEntryName(storeDir, 'dev', pending);
    const other = await committedEntry();
    await expect(claimEntryName(storeDir, 'dev', other)).rejects.toMatchObject({
      code: 'POLYTHENE_NAME_TAKEN',
    });
    // The same pending tree, now owned by a pid that cannot exist.
    await rm(join(storeDir, `.tmp-${pending}.${process.pid}`), { recursive: true });
    await mkdir(join(storeDir, `.tmp-${pending}.4194304000`));
    await claimEntryName(storeDir, 'dev', other);
    expect(resolveEntryRef(storeDir, 'dev')).toBe(other);
    // release drops only a claim still pointing at the releasing entry.
    await releaseEntryName(storeDir, 'dev', pending);
    expect(resolveEntryRef(storeDir, 'dev')).toBe(other);
  });

  it('never follows a name file that is a symlink, and ignores junk in the names directory', async () => {
    const id = await committedEntry();
    await mkdir(join(storeDir, '.names'));
    const outside = join(storeDir, 'outside');
    await writeFile(outside, `${id}\n`);
    await symlink(outside, join(storeDir, '.names', 'dev'));
    await writeFile(join(storeDir, '.names', 'junk'), 'not an id');
    expect(readEntryName(storeDir, 'dev')).toBeUndefined();
    expect(readEntryName(storeDir, 'junk')).toBeUndefined();
    expect(await readEntryNames(storeDir)).toEqual(new Map());
  });

  it('drops stale names only', async () => {
    const live = await committedEntry();
    const gone = await committedEntry();
    await claimEntryName(storeDir, 'live', live);
    await claimEntryName(storeDir, 'gone', gone);
    await rm(join(storeDir, gone), { recursive: true });
    expect(await dropStaleEntryNames(storeDir)).toBe(1);
    expect(
      (await readdir(join(storeDir, '.names'))).filter((name) => !name.startsWith('.')),
    ).toEqual(['live']);
  });

  it('lets exactly one of many concurrent processes claim one name', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => committedEntry()));
    const script = fileURLToPath(new URL('./entry-names.ts', import.meta.url));
    const children = ids.map((id) =>
      spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { claimEntryName } from ${JSON.stringify(script)};
           claimEntryName(${JSON.stringify(storeDir)}, 'race', ${JSON.stringify(id)})
             .then(() => process.exit(0), (e) => { console.error(e.code); process.exit(3); });`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      ),
    );
    const outcomes = await Promise.all(
      children.map(async (child) => {
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        const [code] = await once(child, 'exit');
        return { code, stderr };
      }),
    );
    const winners = outcomes.filter((outcome) => outcome.code === 0);
    expect(winners).toHaveLength(1);
    for (const loser of outcomes.filter((outcome) => outcome.code !== 0))
      expect(loser.stderr).toContain('POLYTHENE_NAME_TAKEN');
    const winner = ids[outcomes.findIndex((outcome) => outcome.code === 0)];
    expect(resolveEntryRef(storeDir, 'race')).toBe(winner);
  });
});
