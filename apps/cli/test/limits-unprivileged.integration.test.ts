import { ensureTestImagesAs, ensureTestUser, type TestImages } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import { removeWhenDone, runPolytheneAs } from './run-polythene.ts';

// An unprivileged user on a cgroup v1 host (no delegation) can write no cgroup: limits are a
// lost guarantee, said once per run that asked for one, refused under --strict, and never
// reported as held. The default pids cap alone does not warn.

let images: TestImages;
let store: string;
let id: string;

beforeAll(async () => {
  const user = await ensureTestUser();
  images = await ensureTestImagesAs(user);
  store = removeWhenDone(`/tmp/polythene-limits-unprivileged-${process.pid}-${Date.now()}`);
  const run = await runPolytheneAs(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

function execAs(flags: readonly string[]) {
  return runPolytheneAs(['exec', id, '--store', store, '--timeout', '30', ...flags, '--', 'true']);
}

describe('limits as an unprivileged user without a delegated cgroup', () => {
  it('warns once when a limit is asked for, and runs without it', async () => {
    const run = await execAs(['--memory', '64m', '--pids-limit', '64', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const lines = run.stderr.split('\n').filter((line) => line.includes('limits'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^polythene: warning: runs without limits \(.*not writable/);
    expect(JSON.parse(run.stdout).limits).toBe('none');
  });

  it('refuses with 125 under --strict', async () => {
    const run = await execAs(['--cpus', '0.5', '--strict']);
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toMatch(/--strict refuses to run without limits/);
  });

  it('does not warn about the default pids cap alone', async () => {
    const run = await execAs(['--strict', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('limits');
    expect(JSON.parse(run.stdout).limits).toBe('none');
  });

  it('polythene backends says limits are not enforced here', async () => {
    const run = await runPolytheneAs(['backends', '--json']);
    const [bwrap] = JSON.parse(run.stdout);
    expect(bwrap.limits).toBe('none');
    expect((await runPolytheneAs(['backends'])).stdout).toMatch(/^limits: none \(/m);
  });
});
