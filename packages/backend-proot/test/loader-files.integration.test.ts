import {
  chownSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AvailableProbe, isProcessAlive, type RunSpec } from '@polythene/probe';
import { createBusyboxRootfs, ensureTestUser } from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProotBackend } from '../src/index.ts';

const backend = createProotBackend();

/** proot loader files in /tmp owned by this user whose proot is gone: what nobody removed. */
function orphanedLoaders(): string[] {
  return readdirSync('/tmp').filter((name) => {
    const match = /^prooted-(\d+)-/.exec(name);
    if (match === null) return false;
    try {
      return (
        lstatSync(join('/tmp', name)).uid === process.geteuid?.() &&
        !isProcessAlive(Number(match[1]))
      );
    } catch {
      return false;
    }
  });
}

/** A pid no process has now: one that just exited. */
async function deadPid(): Promise<number> {
  const child = execa('true');
  const pid = child.pid as number;
  await child;
  return pid;
}

describe('proot loader files', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'polythene-proot-loader-'));
  let spec: RunSpec;
  beforeAll(async () => {
    const probe = await backend.probe({ isRoot: process.geteuid?.() === 0, hostEnv: process.env });
    if (!probe.available) throw new Error(probe.reason);
    const rootfs = join(dir, 'rootfs');
    await createBusyboxRootfs(rootfs);
    spec = {
      rootfs,
      argv: ['/bin/sleep', '30'],
      env: { PATH: '/bin' },
      cwd: '/',
      uid: 0,
      gid: 0,
      binds: [],
      stdio: 'pipe',
      timeoutMs: 300,
      killGraceMs: 1_000,
      forwardSignals: false,
      probe: probe as AvailableProbe,
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are removed after a run killed at its timeout', async () => {
    const result = await backend.run(spec);
    expect(result.timedOut).toBe(true);
    expect(orphanedLoaders()).toEqual([]);
  });

  it("are removed when a killed run (a SIGKILLed polythene) left one, but never another user's", async () => {
    const pid = await deadPid();
    const ours = `/tmp/prooted-${pid}-AbC123`;
    const theirs = `/tmp/prooted-${pid}-XyZ789`;
    writeFileSync(ours, 'loader');
    writeFileSync(theirs, 'loader');
    const user = await ensureTestUser();
    chownSync(theirs, user.uid, user.gid);
    try {
      const result = await backend.run({ ...spec, argv: ['/bin/true'], timeoutMs: 30_000 });
      expect(result.exitCode).toBe(0);
      expect(existsSync(ours), `${pid} alive=${isProcessAlive(pid)}`).toBe(false);
      expect(existsSync(theirs)).toBe(true);
    } finally {
      rmSync(ours, { force: true });
      rmSync(theirs, { force: true });
    }
  });
});
