import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pull } from '@polythene/cli';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { polythene } from '../src/index.ts';

// The entry a testkit box was made from is never deleted while the box lives: `polythene rm`
// refuses (exit 1, naming this process), and `prune` keeps it.

const POLYTHENE_BIN = join(
  dirname(createRequire(import.meta.url).resolve('@polythene/cli/package.json')),
  'dist',
  'polythene.cjs',
);

let work: string;
let store: string;

beforeAll(async () => {
  await ensureTestImages();
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-inuse-'));
  store = join(work, 'store');
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

// Runs the built CLI, as a user would beside the test.
function runCli(
  args: readonly string[],
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [POLYTHENE_BIN, ...args], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

describe.each(['overlay', 'copy'] as const)('a live testkit box (%s)', (boxMethod) => {
  it('keeps its entry: rm refuses, prune keeps it; after dispose rm removes it', async () => {
    const { busybox } = await ensureTestImages();
    const { id } = await pull({ image: busybox, store });
    const entry = await polythene.entry(id, { store, boxMethod });
    expect(entry.boxMethod).toBe(boxMethod);
    {
      await using box = await entry.box();
      expect((await box.exec(['true'])).exitCode).toBe(0);
      const refused = await runCli(['rm', id, '-s', store]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toContain(String(process.pid));
      const pruned = await runCli(['prune', '-s', store, '--older-than', '0s']);
      expect(pruned.exitCode).toBe(0);
      expect(pruned.stdout).toBe('');
      expect(await readdir(store)).toContain(id);
      // The box still works on its entry.
      expect((await box.exec(['cat', '/etc/passwd'])).exitCode).toBe(0);
      expect(await box.diff()).toEqual({ added: [], modified: [], deleted: [] });
    }
    const removed = await runCli(['rm', id, '-s', store]);
    expect(removed).toMatchObject({ exitCode: 0, stderr: '' });
    expect(await readdir(store)).not.toContain(id);
  });
});
