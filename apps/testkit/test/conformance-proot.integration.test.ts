import { spawnSync } from 'node:child_process';
import { findExecutable } from '@polythene/probe';
import { createProotBackend } from '../../../packages/backend-proot/src/index.ts';
import { defineBuiltinConformance } from './define-builtin-conformance.ts';

const prootPath = findExecutable('proot', process.env);
const prootHelp =
  prootPath === undefined ? '' : spawnSync(prootPath, ['--help'], { encoding: 'utf8' }).stdout;
// proot enforces no namespace; with setpriv it drops capabilities (tree-kill needs --kill-on-exit).
const prootGuarantees = ['dev', 'capabilities', 'new-session'] as const;

defineBuiltinConformance({
  name: 'proot',
  createBackend: createProotBackend,
  factory: 'createProotBackend',
  missing: prootPath === undefined ? 'proot is not installed; apt-get install proot' : undefined,
  guarantees: prootGuarantees,
  canOverlay: false,
  // Claimed only by a proot with --kill-on-exit (Debian 12's 5.1 has none).
  sigkill: {
    isClaimed: prootHelp.includes('--kill-on-exit'),
    reason: 'this proot has no --kill-on-exit, so its probe reports tree-kill lost',
  },
  unprivileged: { guarantees: prootGuarantees, canOverlay: false },
});
