import { ALL_GUARANTEES, findExecutable } from '@polythene/probe';
import { createBwrapBackend } from '../../../packages/backend-bwrap/src/index.ts';
import { defineBuiltinConformance } from './define-builtin-conformance.ts';

// bwrap enforces every guarantee, as root and in an unprivileged user namespace alike.
defineBuiltinConformance({
  name: 'bwrap',
  createBackend: createBwrapBackend,
  factory: 'createBwrapBackend',
  missing:
    findExecutable('bwrap', process.env) === undefined
      ? 'bwrap is not installed; apt-get install bubblewrap'
      : undefined,
  guarantees: ALL_GUARANTEES,
  canOverlay: true,
  sigkill: { isClaimed: true },
  unprivileged: { guarantees: ALL_GUARANTEES, canOverlay: true },
});
