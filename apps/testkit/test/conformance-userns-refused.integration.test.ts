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
): Promise<ScriptOutcome | undefined> {
  // The refusal lasts a while when it happens: keep trying for some seconds.
  for (let attempt = 1; attempt <= 40; attempt += 1) {
    const outcome = await runScriptOnce(user, factoryModule, factory, rootfs, filter);
    if (outcome !== 'retry') return outcome;
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 200));
  }
  return undefined;
}

async function runScriptOnce(
  user: TestUser,
  factoryModule: string,
  factory: string,
  rootfs: string,
  filter: string,
): Promise<ScriptOutcome | 'retry'> {
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
      '--',
      '/bin/sh',
      '-c',
      // /proc is mounted only once the maps are written: mounted earlier, its sysctls may stay read-only.
      // The kernel sometimes keeps the new namespace's sysctl read-only (it depends on timing we
      // cannot control): exit 75 then, and the caller builds a new world.
      'read go && mount -t proc proc /proc && { echo 0 > /proc/sys/user/max_user_namespaces; } 2>/dev/null && exec "$@"; exit 75',
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
  if (code === 75) return 'retry';
  if (code !== 0) throw new Error(`the script failed (exit ${code}): ${stderr.trim()}`);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ScriptOutcome;
}

describe.skipIf(!isRoot)(
  isRoot
    ? 'a host that refuses user namespaces'
    : 'a host that refuses user namespaces (skipped: needs root to map the test user into a user namespace)',
  () => {
    it('makes bwrap probe unavailable (naming the sysctl) while proot still runs commands', {
      timeout: 120_000,
    }, async (test) => {
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
      if (bwrap === undefined || proot === undefined) {
        test.skip(
          "this kernel kept the new user namespace's user.max_user_namespaces read-only for 8 s: the world could not be built",
        );
        return;
      }
      expect(bwrap.probe.available).toBe(false);
      if (!bwrap.probe.available) expect(bwrap.probe.reason).toMatch(/user\.max_user_namespaces=0/);
      expect(proot.probe.available).toBe(true);
      expect(proot.results).toEqual([
        { name: 'reports the exit codes 0, 1 and 42', status: 'passed' },
      ]);
    });
  },
);
