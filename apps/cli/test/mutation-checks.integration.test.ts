import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages, type TestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  listStoreNames,
  removeWhenDone,
  runPolythene,
  startPolythene,
} from './run-polythene.ts';

// Behaviour that a one-line bug once changed without any test noticing (issue 18's mutation
// check): each test here fails if that line is changed back.

let images: TestImages;
let store: string;
let id: string;

beforeAll(async () => {
  images = await ensureTestImages();
  store = await freshStorePath();
  const pulled = await runPolythene(['pull', images.busybox, '-s', store, '-q']);
  expect(pulled.exitCode, pulled.stderr).toBe(0);
  id = pulled.stdout.trim();
});

/** A pid no process has now: a child that has exited and been reaped. */
function deadPid(): number {
  return spawnSync('true').pid as number;
}

describe('pull', () => {
  it("clears a dead pull's temporaries (a .tmp-* of a pid that is gone)", async () => {
    const own = await freshStorePath();
    const first = await runPolythene(['pull', images.busybox, '-s', own, '-q']);
    expect(first.exitCode, first.stderr).toBe(0);
    const stale = `.tmp-01890a5d-ac96-774b-bcce-b302099a8011.${deadPid()}`;
    await mkdir(join(own, stale, 'etc'), { recursive: true });
    const second = await runPolythene(['pull', images.busybox, '-s', own, '-q']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await listStoreNames(own)).not.toContain(stale);
  });
});

describe('exec', () => {
  it('--workdir /nonexistent is a usage error (2), naming the directory', async () => {
    const run = await runPolythene([
      'exec',
      id,
      '-s',
      store,
      '--workdir',
      '/nonexistent',
      '--',
      'pwd',
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('/nonexistent');
  });

  it('at --timeout, kills a command that ignores SIGTERM at once (no grace period)', async () => {
    const marker = 6000 + (process.pid % 900);
    const started = Date.now();
    // `trap ''` is inherited through exec: the sleep ignores SIGTERM too.
    const run = await runPolythene([
      'exec',
      id,
      '-s',
      store,
      '--timeout',
      '1',
      '--',
      'sh',
      '-c',
      `trap '' TERM; sleep ${marker}`,
    ]);
    expect(run.exitCode, run.stderr).toBe(124);
    expect(Date.now() - started).toBeLessThan(4_500);
    const { stdout } = await execa('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(`sleep ${marker}`);
  }, 30_000);

  it('on SIGTERM to polythene, kills a command that ignores it after the 5 s grace period, not before, not much after', async () => {
    const marker = 6900 + (process.pid % 90);
    const running = startPolythene([
      'exec',
      id,
      '-s',
      store,
      '--',
      'sh',
      '-c',
      `trap '' TERM; echo ready; sleep ${marker}`,
    ]);
    await new Promise<void>((resolve) => {
      running.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
    });
    const signalledAt = Date.now();
    // Not running.kill(): execa would SIGKILL polythene itself 5 s later (forceKillAfterDelay).
    process.kill(running.pid as number, 'SIGTERM');
    const result = await running;
    const elapsedMs = Date.now() - signalledAt;
    // Killed (SIGKILL) once the grace period ran out: 128 + 9.
    // Killed (SIGKILL) once the grace period ran out: 128 + 9.
    expect(result.exitCode, String(result.stderr)).toBe(137);
    // The grace period is 5 s: the command had it, and no more than a margin beyond it.
    expect(elapsedMs).toBeGreaterThanOrEqual(4_900);
    expect(elapsedMs).toBeLessThan(8_000);
    const { stdout } = await execa('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(`sleep ${marker}`);
  }, 30_000);

  it.each([
    ['SIGINT', 'INT', 130],
    ['SIGHUP', 'HUP', 129],
  ] as const)(
    'forwards %s to the command, which sees it; polythene exits 128 + its number',
    async (signal, name, code) => {
      const seen = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-signal-seen-')));
      // The command records the signal, then dies of it as it would untrapped.
      const running = startPolythene([
        'exec',
        id,
        '-s',
        store,
        '--bind',
        `${seen}:/seen`,
        '--',
        'sh',
        '-c',
        `trap 'echo ${name} > /seen/got; trap - ${name}; kill -${name} $$' ${name}; echo ready; while :; do sleep 0.1; done`,
      ]);
      await new Promise<void>((resolve) => {
        running.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
      });
      running.kill(signal);
      const result = await running;
      expect(result.exitCode, String(result.stderr)).toBe(code);
      expect((await readFile(join(seen, 'got'), 'utf8')).trim()).toBe(name);
    },
  );
});
