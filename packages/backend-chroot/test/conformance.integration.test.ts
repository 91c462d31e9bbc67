import { ALL_GUARANTEES, findExecutable } from '@polythene/probe';
import { defineBuiltinConformance } from '../../backend-conformance/test/define-builtin-conformance.ts';
import { createChrootBackend } from '../src/index.ts';

const missingTools = ['unshare', 'capsh', 'mount'].filter(
  (tool) => findExecutable(tool, process.env) === undefined,
);

// chroot enforces every guarantee as root, and is unavailable to anyone else.
defineBuiltinConformance({
  name: 'chroot',
  createBackend: createChrootBackend,
  factory: 'createChrootBackend',
  missing:
    missingTools.length > 0
      ? `${missingTools.join(', ')} not installed; apt-get install util-linux libcap2-bin`
      : undefined,
  guarantees: ALL_GUARANTEES,
  canOverlay: true,
  sigkill: { isClaimed: true },
  unprivileged: { unavailableReason: /needs root/ },
});
