import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineSigkillCheck } from '@polythene/backend-conformance';
import { findExecutable } from '@polythene/probe';
import { createBusyboxRootfs } from '@polythene/test-images';
import { afterAll, describe } from 'vitest';
import { defineBuiltinConformance } from '../../backend-conformance/test/define-builtin-conformance.ts';
import { createProotBackend } from '../src/index.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');

const prootPath = findExecutable('proot', process.env);
// proot enforces no namespace and no filesystem confinement; with setpriv it drops
// capabilities; the exec guard kills the tree and shuts the keyrings away.
const prootGuarantees = ['dev', 'capabilities', 'new-session', 'tree-kill', 'keyring'] as const;

defineBuiltinConformance({
  name: 'proot',
  createBackend: createProotBackend,
  factory: 'createProotBackend',
  missing: prootPath === undefined ? 'proot is not installed; apt-get install proot' : undefined,
  guarantees: prootGuarantees,
  canOverlay: false,
  // The exec guard, proot's parent, kills the tree when polythene dies (parent-death signal).
  sigkill: { isClaimed: true },
  unprivileged: { guarantees: prootGuarantees, canOverlay: false },
});

// A proot without --kill-on-exit (older releases): tree-kill must hold without it, since the
// probe claims it from the exec guard alone. A wrapper that hides the option from --help and
// refuses it stands first on PATH.
describe.skipIf(prootPath === undefined || process.geteuid?.() !== 0)(
  'proot without --kill-on-exit',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'polythene-old-proot-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const wrapper = join(dir, 'proot');
    writeFileSync(
      wrapper,
      `#!/bin/sh
for arg in "$@"; do [ "$arg" = --kill-on-exit ] && { echo "proot: unknown option --kill-on-exit" >&2; exit 1; }; done
if [ "$1" = --help ]; then ${prootPath} --help 2>&1 | grep -v -- --kill-on-exit; exit 0; fi
exec ${prootPath} "$@"
`,
    );
    chmodSync(wrapper, 0o755);
    chmodSync(dir, 0o755);
    const rootfs = join(dir, 'rootfs');
    defineSigkillCheck({
      backendModule: join(repoRoot, 'packages/backend-proot/src/index.ts'),
      factory: 'createProotBackend',
      rootfs: async () => {
        await createBusyboxRootfs(rootfs);
        return rootfs;
      },
      tsx: join(repoRoot, 'node_modules/.bin/tsx'),
      isClaimed: true,
      hostEnv: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
      title: ' (no --kill-on-exit)',
    });
  },
);
