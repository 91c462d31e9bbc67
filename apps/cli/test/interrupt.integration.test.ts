import { ensureTestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, runPolythene, startPolythene } from './run-polythene.ts';

// Ctrl-C without a terminal of the box's own: polythene forwards SIGINT as a terminal would
// send it, to the command and what it runs, so a shell waiting for its child ends at once.

let store: string;
let id: string;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath();
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

describe.each(['bwrap', 'proot', 'chroot'])(
  'SIGINT to polythene exec --isolation %s',
  (backend) => {
    it.each([
      ['', []],
      [' (--tty: the terminal helper sends it to the foreground job)', ['--tty']],
    ])(
      'ends a shell that waits for its child with 130 at once, not 137 after the grace period%s',
      async (_, flags) => {
        const started = Date.now();
        const run = startPolythene([
          'exec',
          id,
          '--store',
          store,
          '--isolation',
          backend,
          ...flags,
          '--',
          'sh',
          '-c',
          'echo started; sleep 30; echo after',
        ]);
        await new Promise<void>((resolve) => {
          run.stdout?.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('started')) resolve();
          });
        });
        // The sleep has started once the shell is past its echo; give it a moment to exec.
        await new Promise((resolve) => setTimeout(resolve, 300));
        run.kill('SIGINT');
        const result = await run;
        expect(result.exitCode, String(result.stderr)).toBe(130);
        expect(String(result.stdout)).not.toContain('after');
        // The grace period before a tree kill is 5 s.
        expect(Date.now() - started).toBeLessThan(4_500);
      },
    );
  },
);
