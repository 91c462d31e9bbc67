import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findExecutable } from '@polythene/probe';
import { createBusyboxRootfs, ensureTestUser, runAsTestUser } from '@polythene/test-images';
import { afterAll, describe } from 'vitest';
import { createProotBackend } from '../../../packages/backend-proot/src/index.ts';
import { HOST_SECRETS } from '../src/conformance/conformance-checks.ts';
import { defineBackendConformanceSuite } from '../src/conformance/define-backend-conformance-suite.ts';
import { defineScriptedConformanceSuite } from '../src/conformance/define-scripted-conformance-suite.ts';
import { defineSigkillCheck } from '../src/conformance/define-sigkill-check.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const tsxBin = join(repoRoot, 'node_modules/.bin/tsx');
const scratch = mkdtempSync(join(tmpdir(), 'polythene-conformance-proot-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const isRoot = process.geteuid?.() === 0;
const prootPath = findExecutable('proot', process.env);
const prootHelp =
  prootPath === undefined ? '' : `${spawnSync(prootPath, ['--help'], { encoding: 'utf8' }).stdout}`;
const isMissing = findExecutable('proot', process.env) === undefined;
// proot enforces no namespace; with setpriv it drops capabilities (tree-kill needs --kill-on-exit).
const allGuarantees = ['dev', 'capabilities', 'new-session'] as const;

describe.skipIf(isMissing)(
  isMissing ? 'proot (skipped: proot is not installed; apt-get install proot)' : 'proot',
  () => {
    describe.skipIf(!isRoot)(
      isRoot ? 'as root' : 'as root (skipped: the tests do not run as root)',
      () => {
        defineBackendConformanceSuite({
          createBackend: createProotBackend,
          rootfs: async () => {
            const rootfs = join(scratch, 'root-rootfs');
            await createBusyboxRootfs(rootfs);
            return rootfs;
          },
          expect: { guarantees: allGuarantees, canOverlay: false },
        });

        defineSigkillCheck({
          backendModule: join(repoRoot, 'packages/backend-proot/src/index.ts'),
          factory: 'createProotBackend',
          rootfs: async () => {
            const rootfs = join(scratch, 'sigkill-rootfs');
            await createBusyboxRootfs(rootfs);
            return rootfs;
          },
          tsx: tsxBin,
          // Claimed only by a proot with --kill-on-exit (Debian 12's 5.1 has none).
          isClaimed: prootHelp.includes('--kill-on-exit'),
          reason: 'this proot has no --kill-on-exit, so its probe reports tree-kill lost',
        });

        defineScriptedConformanceSuite({
          title: 'as an unprivileged user',
          backendModule: join(repoRoot, 'packages/backend-proot/src/index.ts'),
          factory: 'createProotBackend',
          rootfs: async () => {
            const user = await ensureTestUser();
            const home = join(scratch, 'user');
            const rootfs = join(home, 'rootfs');
            await createBusyboxRootfs(rootfs);
            execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, home]);
            chownSync(scratch, user.uid, user.gid);
            return rootfs;
          },
          runScript: async (argv) =>
            (await runAsTestUser([tsxBin, ...argv], { env: { ...HOST_SECRETS } })).stdout,
          expect: { guarantees: allGuarantees, canOverlay: false },
        });
      },
    );
  },
);
