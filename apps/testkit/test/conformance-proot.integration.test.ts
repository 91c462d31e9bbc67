import { findExecutable } from '@polythene/probe';
import { createProotBackend } from '../../../packages/backend-proot/src/index.ts';
import { defineBuiltinConformance } from './define-builtin-conformance.ts';

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
