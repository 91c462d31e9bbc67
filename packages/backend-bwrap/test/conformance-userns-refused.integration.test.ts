import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ConformanceCheckResult } from '@polythene/backend-conformance';
import { CONFORMANCE_SCRIPT_PATH } from '@polythene/backend-conformance';
import type { ProbeResult } from '@polythene/probe';
import { createBusyboxRootfs, ensureTestUser, runAsTestUser } from '@polythene/test-images';
import { afterAll, describe, expect, it } from 'vitest';

// The world of a CI runner that refuses unprivileged user namespaces, built without touching
// the host (this machine forbids `sysctl user.max_user_namespaces=0` even to root): the test
// user runs at the kernel's user-namespace nesting limit, where creating one more fails with
// ENOSPC exactly as under that sysctl. Suites running meanwhile are unaffected.
const repoRoot = resolve(import.meta.dirname, '../../..');
const tsxBin = join(repoRoot, 'node_modules/.bin/tsx');
const isRoot = process.geteuid?.() === 0;
const scratch = mkdtempSync(join(tmpdir(), 'polythene-conformance-userns-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface ScriptOutcome {
  readonly probe: ProbeResult;
  readonly results: ConformanceCheckResult[];
}

async function runScript(
  factoryModule: string,
  factory: string,
  rootfs: string,
  filter: string,
): Promise<ScriptOutcome> {
  const { stdout } = await runAsTestUser(
    [tsxBin, CONFORMANCE_SCRIPT_PATH, join(repoRoot, factoryModule), factory, rootfs, filter],
    { refuseUserNamespaces: true, timeoutMs: 100_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ScriptOutcome;
}

describe.skipIf(!isRoot)(
  isRoot
    ? 'a host that refuses user namespaces'
    : 'a host that refuses user namespaces (skipped: needs root to map the test user into a user namespace)',
  () => {
    it('makes bwrap probe unavailable (naming the sysctl) while proot still runs commands', {
      timeout: 120_000,
    }, async () => {
      const user = await ensureTestUser();
      const rootfs = join(scratch, 'rootfs');
      await createBusyboxRootfs(rootfs);
      execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, scratch]);
      chownSync(scratch, user.uid, user.gid);

      const [bwrap, proot] = await Promise.all([
        runScript(
          'packages/backend-bwrap/src/index.ts',
          'createBwrapBackend',
          rootfs,
          '(probe only)',
        ),
        runScript(
          'packages/backend-proot/src/index.ts',
          'createProotBackend',
          rootfs,
          'exit codes',
        ),
      ]);
      expect(bwrap.probe.available).toBe(false);
      if (!bwrap.probe.available) expect(bwrap.probe.reason).toMatch(/user namespace/i);
      expect(proot.probe.available).toBe(true);
      expect(proot.results).toEqual([
        { name: 'reports the exit codes 0, 1 and 42', status: 'passed' },
      ]);
    });
  },
);
