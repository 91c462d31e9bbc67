import { release } from 'node:os';
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

// The exec guard reads how the command ended through its pidfd (PIDFD_GET_INFO), which
// Linux has from 6.15: before, a command a signal ended after one of its children exited
// is reported with the child's status (proot's own report).
const [major = 0, minor = 0] = release().split('.').map(Number);
const hasPidfdExitInfo = major > 6 || (major === 6 && minor >= 15);

describe.skipIf(!hasPidfdExitInfo)(
  'exit status under proot of a command a signal ends after a child exited (Linux 6.15+)',
  () => {
    it.each([
      ['sleep 0.2; kill -KILL $$', [], 137],
      ['sleep 0.2; kill -KILL $$', ['--tty'], 137],
      ['(exit 3); kill -TERM $$', [], 143],
      ['(exit 3); kill -TERM $$', ['--tty'], 143],
    ])('sh -c %j %j exits %i', async (script, flags, expected) => {
      const run = await runPolythene([
        'exec',
        id,
        '-s',
        store,
        '-i',
        'proot',
        ...flags,
        '--',
        'sh',
        '-c',
        script,
      ]);
      expect(run.exitCode, run.stderr).toBe(expected);
    });
  },
);
