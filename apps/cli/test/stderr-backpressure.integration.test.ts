import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ensureTestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, POLYTHENE_BIN, runPolythene } from './run-polythene.ts';

let store: string;
let id: string;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath('polythene-backpressure-');
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

function residentKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

describe("proot's stderr passed through to a slow reader", () => {
  it('keeps polythene bounded in memory while the reader lags, and loses no byte', async () => {
    const totalBytes = 200_000_000;
    const child = spawn(
      process.execPath,
      [
        POLYTHENE_BIN,
        'exec',
        id,
        '--store',
        store,
        '--isolation',
        'proot',
        '--',
        'sh',
        '-c',
        `head -c ${totalBytes} /dev/zero >&2`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } },
    );
    // Nobody reads for 3 s: the command writes far more than a pipe holds meanwhile.
    child.stderr.pause();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const lagging = residentKiB(child.pid as number);
    let received = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    child.stderr.resume();
    const exitCode = await new Promise((resolve) => child.on('close', resolve));
    expect(exitCode).toBe(0);
    // Every byte the command wrote, after proot's one-line warning.
    expect(received).toBeGreaterThanOrEqual(totalBytes);
    expect(received).toBeLessThan(totalBytes + 1_000);
    // Before: polythene held what the command wrote (about 150 MB by then).
    expect(lagging).toBeLessThan(100 * 1024);
  }, 120_000);
});
