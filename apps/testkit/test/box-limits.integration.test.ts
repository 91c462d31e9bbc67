import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, type PolytheneImage } from '../src/index.ts';

// image.box({ memory, cpus, pidsLimit }) caps every command in the box, with real cgroups
// (v1, as root on this host). Both commands are small: a 32m cap and a 10-process cap.
const canLimit = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/pids/cgroup.procs');

let work: string;
let image: PolytheneImage;

beforeAll(async () => {
  if (!canLimit) return;
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-limits-'));
  image = await openImage((await ensureTestImages()).busybox, { store: join(work, 'store') });
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!canLimit)('a box with limits (cgroup v1, as root)', () => {
  it('kills a command past its memory limit with 137 and says so', async () => {
    await using box = await image.box({ memory: '32m' });
    const result = await box.exec('x=a; while :; do x="$x$x"; done', { timeoutMs: 60_000 });
    expect(result.exitCode).toBe(137);
    expect(result.limit).toBe('memory');
  });

  it('fails a fork past its pids limit, and says the limit was reached', async () => {
    await using box = await image.box({ pidsLimit: 10, cpus: 0.5 });
    const result = await box.exec('for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait', {
      timeoutMs: 30_000,
    });
    expect(result.stderr).toMatch(/can't fork/);
    expect(result.limit).toBe('pids');
    // Without a limit the same loop runs.
    await using free = await image.box();
    const unlimited = await free.exec(
      'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 0 & done; wait',
      {
        timeoutMs: 30_000,
      },
    );
    expect(unlimited.exitCode, unlimited.stderr).toBe(0);
  });

  it('keeps concurrent commands of one process each in its own cgroup', async () => {
    // The API moves polythene's thread into a run's cgroup only around that run's spawn:
    // commands started together never land in one another's cgroup.
    const boxes = await Promise.all([1, 2, 3, 4].map(() => image.box({ pidsLimit: 20 })));
    try {
      const results = await Promise.all(
        boxes.map((box) => box.exec('grep :pids: /proc/self/cgroup', { timeoutMs: 30_000 })),
      );
      const cgroups = results.map((result) => result.stdout.trim());
      for (const cgroup of cgroups) expect(cgroup).toMatch(/\/polythene-\d+-\d+-\d+$/);
      expect(new Set(cgroups).size).toBe(4);
    } finally {
      await Promise.all(boxes.map((box) => box.dispose()));
    }
  });
});
