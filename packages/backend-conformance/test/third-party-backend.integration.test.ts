import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrorCode } from '@polythene/errors';
import {
  ALL_GUARANTEES,
  type AvailableProbe,
  createProbeContext,
  findExecutable,
  loadBackendModule,
} from '@polythene/probe';
import { afterAll, describe, expect, it } from 'vitest';
import { defineBuiltinConformance } from './define-builtin-conformance.ts';

// The example backend of docs/backends.md, a third party's: written against the contract and
// the kit of @polythene/probe alone, loaded as Polythene loads a custom backend, and held to
// the whole suite exactly as the built-in backends are (as root, from a caller holding an open
// host directory, when polythene is SIGKILLed, and as an unprivileged user). It claims every
// guarantee but `ids` (one id mapped), and no overlay roots, in both worlds.
const backendModule = join(import.meta.dirname, 'fixtures/third-party-backend.mjs');
const claimed = ALL_GUARANTEES.filter((guarantee) => guarantee !== 'ids');

defineBuiltinConformance({
  name: 'example-bwrap',
  backendModule,
  createBackend: () => loadBackendModule(backendModule, { cwd: import.meta.dirname }),
  factory: 'default',
  missing:
    findExecutable('bwrap', process.env) === undefined
      ? 'bwrap is not installed; apt-get install bubblewrap'
      : undefined,
  guarantees: claimed,
  canOverlay: false,
  sigkill: { isClaimed: true },
  unprivileged: { guarantees: claimed, canOverlay: false },
});

describe.skipIf(findExecutable('bwrap', process.env) === undefined)(
  'the example backend as a user registers it',
  () => {
    const scratch = mkdtempSync(join(tmpdir(), 'polythene-example-backend-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('loads by a relative path, and probes its version and the reason it loses ids', async () => {
      // As `--backend-module ./fixtures/third-party-backend.mjs` would, from this directory.
      const backend = await loadBackendModule('./fixtures/third-party-backend.mjs', {
        cwd: import.meta.dirname,
      });
      expect(backend).toMatchObject({ name: 'example-bwrap', aliases: ['example'] });
      const probe = await backend.probe(createProbeContext());
      expect(probe).toMatchObject({ available: true, version: expect.stringMatching(/^\d+\.\d/) });
      expect((probe as AvailableProbe).lost.ids).toMatch(/maps one id/);
    });

    it("reports bubblewrap's own set-up failure as POLYTHENE_SETUP_FAILED, with bwrap's reason", async () => {
      const backend = await loadBackendModule(backendModule, { cwd: import.meta.dirname });
      const probe = (await backend.probe(createProbeContext())) as AvailableProbe;
      // A rootfs without /bin/sh's directory passes the spec check; bwrap then cannot exec it.
      const error = await backend
        .run({
          rootfs: scratch,
          argv: ['/bin/sh', '-c', 'true'],
          env: {},
          cwd: '/',
          uid: 0,
          gid: 0,
          binds: [],
          stdio: 'pipe',
          killGraceMs: 1_000,
          forwardSignals: false,
          probe,
        })
        .catch((caught: unknown) => caught);
      expect(hasErrorCode(error, 'POLYTHENE_SETUP_FAILED'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /^example-bwrap could not set up the sandbox \(bwrap: /,
      );
    });
  },
);
