import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ProbeResult } from '@polythene/probe';
import { findExecutable } from '@polythene/probe';
import type { TestUser } from '@polythene/test-images';
import { createBusyboxRootfs, ensureTestUser, testUserEnv } from '@polythene/test-images';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConformanceCheckResult, waitFor } from '../src/conformance/conformance-checks.ts';
import { CONFORMANCE_SCRIPT_PATH } from '../src/conformance/define-scripted-conformance-suite.ts';

// The world of a CI runner that refuses unprivileged user namespaces, built without touching
// the host: a user namespace (identity-mapped by root, so the test user keeps its host uid)
// whose own user.max_user_namespaces is 0, entered as the test user. Nothing outside it sees
// the limit, so suites running meanwhile are unaffected (and hosts that forbid changing the
// global sysctl, like containers, can still run it).
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
  user: TestUser,
  factoryModule: string,
  factory: string,
  rootfs: string,
  filter: string,
): Promise<ScriptOutcome> {
  const setpriv = findExecutable('setpriv', process.env) ?? 'setpriv';
  const child = spawn(
    findExecutable('unshare', process.env) ?? 'unshare',
    [
      // A fresh /proc (own mount and pid namespaces): only there is the namespace's own sysctl writable.
      '--user',
      '--mount',
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      '--',
      '/bin/sh',
      '-c',
      'read go && echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"',
      'refuse-userns',
      setpriv,
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--clear-groups',
      '--',
      tsxBin,
      CONFORMANCE_SCRIPT_PATH,
      join(repoRoot, factoryModule),
      factory,
      rootfs,
      filter,
    ],
    { env: testUserEnv(user), cwd: user.home, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
  const ownUserNamespace = readlinkSync('/proc/self/ns/user');
  const pid = child.pid as number;
  await waitFor('the user namespace', () => {
    try {
      return readlinkSync(`/proc/${pid}/ns/user`) !== ownUserNamespace;
    } catch {
      return false;
    }
  });
  writeFileSync(`/proc/${pid}/uid_map`, '0 0 4294967295\n');
  writeFileSync(`/proc/${pid}/gid_map`, '0 0 4294967295\n');
  child.stdin.end('go\n');
  const code = await exited;
  if (code !== 0) throw new Error(`the script failed (exit ${code}): ${stderr.trim()}`);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ScriptOutcome;
}

describe.skipIf(!isRoot)(
  isRoot
    ? 'a host that refuses user namespaces'
    : 'a host that refuses user namespaces (skipped: needs root to set the sysctl)',
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
          user,
          'packages/backend-bwrap/src/index.ts',
          'createBwrapBackend',
          rootfs,
          '(probe only)',
        ),
        runScript(
          user,
          'packages/backend-proot/src/index.ts',
          'createProotBackend',
          rootfs,
          'exit codes',
        ),
      ]);
      expect(bwrap.probe.available).toBe(false);
      if (!bwrap.probe.available) expect(bwrap.probe.reason).toMatch(/user\.max_user_namespaces=0/);
      expect(proot.probe.available).toBe(true);
      expect(proot.results).toEqual([
        { name: 'reports the exit codes 0, 1 and 42', status: 'passed' },
      ]);
    });
  },
);
