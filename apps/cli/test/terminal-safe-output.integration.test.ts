import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, runPolythene } from './run-polythene.ts';

let store: string;
let id: string;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath('polythene-terminal-safe-');
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

const ESC = '\u001b';
// A name that retitles the terminal and one that forges a second diff line.
const titleName = `/tmp/${ESC}]0;pwned${'\u0007'}`;
const forgedName = '/tmp/x\nD /etc/passwd';

describe('names a command or an image chose, printed on a terminal', () => {
  it('diff escapes control characters and newlines; --json keeps them exact', async () => {
    const made = await runPolythene([
      'exec',
      id,
      '--store',
      store,
      '--',
      'sh',
      '-c',
      `mkdir -p "$(printf '/tmp/x\\nD /etc')" && touch "$(printf '/tmp/\\033]0;pwned\\007')" "$(printf '/tmp/x\\nD /etc/passwd')"`,
    ]);
    expect(made.exitCode, made.stderr).toBe(0);
    const text = await runPolythene(['diff', id, '--store', store]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).not.toContain(ESC);
    expect(text.stdout).toContain('A /tmp/\\033]0;pwned\\007\n');
    expect(text.stdout).toContain('A /tmp/x\\012D /etc/passwd\n');
    expect(text.stdout.split('\n').filter((line) => line.startsWith('D '))).toEqual([]);
    const json = await runPolythene(['diff', id, '--store', store, '--json']);
    expect(JSON.parse(json.stdout).added).toEqual(expect.arrayContaining([titleName, forgedName]));
  });

  it('list escapes an image name holding control characters; --json keeps it exact', async () => {
    const metadataPath = join(store, `${id}.json`);
    const metadata = JSON.parse(await readFile(metadataPath, 'utf8'));
    const image = `evil${ESC}[2J\nforged-row`;
    await writeFile(metadataPath, JSON.stringify({ ...metadata, image }));
    const text = await runPolythene(['list', '--store', store]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).not.toContain(ESC);
    expect(text.stdout).toContain('evil\\033[2J\\012forged-row');
    expect(text.stdout.trimEnd().split('\n')).toHaveLength(2);
    const json = await runPolythene(['list', '--store', store, '--json']);
    expect(JSON.parse(json.stdout)[0].image).toBe(image);
  });
});
