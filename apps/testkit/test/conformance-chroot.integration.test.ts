import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ALL_GUARANTEES, findExecutable } from '@polythene/probe';
import { createBusyboxRootfs, ensureTestUser, runAsTestUser } from '@polythene/test-images';
import { afterAll, describe } from 'vitest';
import { createChrootBackend } from '../../../packages/backend-chroot/src/index.ts';
import { defineBackendConformanceSuite } from '../src/conformance/define-backend-conformance-suite.ts';
import { defineScriptedConformanceSuite } from '../src/conformance/define-scripted-conformance-suite.ts';
import { defineSigkillCheck } from '../src/conformance/define-sigkill-check.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const tsxBin = join(repoRoot, 'node_modules/.bin/tsx');
const scratch = mkdtempSync(join(tmpdir(), 'polythene-conformance-chroot-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const isRoot = process.geteuid?.() === 0;
const missing = ['unshare', 'capsh', 'mount'].filter(
  (tool) => findExecutable(tool, process.env) === undefined,
);
// Every guarantee there is: these backends must enforce them all here.
const allGuarantees = ALL_GUARANTEES;

describe.skipIf(missing.length > 0 || !isRoot)(
  missing.length > 0
    ? `chroot (skipped: ${missing.join(', ')} not installed; apt-get install util-linux libcap2-bin)`
    : isRoot
      ? 'chroot'
      : 'chroot (skipped: the chroot backend and these tests need root)',
  () => {
    describe('as root', () => {
      defineBackendConformanceSuite({
        createBackend: createChrootBackend,
        rootfs: async () => {
          const rootfs = join(scratch, 'root-rootfs');
          await createBusyboxRootfs(rootfs);
          return rootfs;
        },
        expect: { guarantees: allGuarantees, canOverlay: true },
      });

      defineSigkillCheck({
        backendModule: join(repoRoot, 'packages/backend-chroot/src/index.ts'),
        factory: 'createChrootBackend',
        rootfs: async () => {
          const rootfs = join(scratch, 'sigkill-rootfs');
          await createBusyboxRootfs(rootfs);
          return rootfs;
        },
        tsx: tsxBin,
        isClaimed: true,
      });
    });

    defineScriptedConformanceSuite({
      title: 'as an unprivileged user',
      backendModule: join(repoRoot, 'packages/backend-chroot/src/index.ts'),
      factory: 'createChrootBackend',
      rootfs: async () => {
        const user = await ensureTestUser();
        const home = join(scratch, 'user');
        const rootfs = join(home, 'rootfs');
        await createBusyboxRootfs(rootfs);
        execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, home]);
        chownSync(scratch, user.uid, user.gid);
        return rootfs;
      },
      runScript: async (argv) => (await runAsTestUser([tsxBin, ...argv])).stdout,
      expect: { available: false, unavailableReason: /needs root/ },
    });
  },
);
