import { ensureTestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, runPolythene } from './run-polythene.ts';

// proot 5.1 is known to misreport exit statuses in some builds; these pin down that ours,
// as run by the proot backend, reports the command's own status in each shape of ending.

let store: string;
let id: string;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath();
  const pull = await runPolythene(['pull', images.busybox, '-s', store, '-q']);
  expect(pull.exitCode).toBe(0);
  id = pull.stdout.trim();
});

describe('exit status under proot', () => {
  it.each([
    ['exit 7', 7],
    ['exec sh -c "exit 9"', 9],
    ['(sleep 0.3; exit 5) & (exit 6); exit 4', 4],
    ['kill -KILL $$', 137],
    ['kill -TERM $$', 143],
    ['sh -c "kill -SEGV \\$\\$"; exit $?', 139],
  ])('sh -c %j exits %i', async (script, expected) => {
    const run = await runPolythene([
      'exec',
      id,
      '-s',
      store,
      '-i',
      'proot',
      '--',
      'sh',
      '-c',
      script,
    ]);
    expect(run.exitCode).toBe(expected);
  });
});
