import { ALL_GUARANTEES, findExecutable } from '@polythene/probe';
import { defineBuiltinConformance } from '../../backend-conformance/test/define-builtin-conformance.ts';
import { createBwrapBackend } from '../src/index.ts';

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
