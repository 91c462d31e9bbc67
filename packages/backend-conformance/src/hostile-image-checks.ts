import assert from 'node:assert/strict';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BindMount } from '@polythene/probe';
import type { ConformanceCheck, ConformanceContext, TextRunResult } from './conformance-types.ts';
import { runShell } from './sandbox-helpers.ts';

/**
 * A copy of the context's rootfs that `makeHostile` edits as an image author could, a host
 * directory anyone may write in (where an escaping mount target would appear), and a bind
 * source holding `marker`; `dispose` removes all three.
 */
function createHostileRootfs(
  context: ConformanceContext,
  makeHostile: (rootfs: string, victim: string) => void,
): { rootfs: string; victim: string; source: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'polythene-conformance-hostile-'));
  chmodSync(dir, 0o755);
  const rootfs = join(dir, 'rootfs');
  cpSync(context.rootfs, rootfs, { recursive: true, verbatimSymlinks: true });
  const victim = join(dir, 'victim');
  mkdirSync(victim);
  chmodSync(victim, 0o777);
  const source = join(dir, 'source');
  mkdirSync(source);
  writeFileSync(join(source, 'marker'), 'from the host\n', { mode: 0o644 });
  makeHostile(rootfs, victim);
  return {
    rootfs,
    victim,
    source,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The run's result, or the code of the error it threw. */
async function settle(run: Promise<TextRunResult>): Promise<TextRunResult | { code: unknown }> {
  return run.catch((error: unknown) => ({ code: (error as { code?: unknown }).code }));
}

function replaceWithSymlink(rootfs: string, path: string, target: string): void {
  rmSync(join(rootfs, path), { recursive: true, force: true });
  symlinkSync(target, join(rootfs, path));
}

/**
 * What every backend must do with a hostile image: fail its set-up as a set-up failure (which
 * the caller answers with exit 125, never with a weaker backend), and never let an image
 * symlink lead a mount target out of the rootfs.
 */
export const HOSTILE_IMAGE_CHECKS: readonly ConformanceCheck[] = [
  {
    name: 'an image whose /proc and /dev are symlinks to host paths runs confined or fails its set-up, creating nothing on the host',
    async run(context) {
      const hostile = createHostileRootfs(context, (rootfs, victim) => {
        replaceWithSymlink(rootfs, 'proc', `/oldroot${victim}`);
        replaceWithSymlink(rootfs, 'dev', victim);
      });
      try {
        const outcome = await settle(runShell(context, 'echo ran', { rootfs: hostile.rootfs }));
        if ('code' in outcome) assert.equal(outcome.code, 'POLYTHENE_SETUP_FAILED');
        assert.deepEqual(readdirSync(hostile.victim), []);
      } finally {
        hostile.dispose();
      }
    },
  },
  {
    name: 'a set-up failure an image causes (/proc a file) throws POLYTHENE_SETUP_FAILED, and the command never runs',
    async run(context) {
      const hostile = createHostileRootfs(context, (rootfs, victim) => {
        replaceWithSymlink(rootfs, 'proc', '/bin/busybox');
        replaceWithSymlink(rootfs, 'dev', '/bin/busybox');
        // Written only if the command runs.
        symlinkSync(victim, join(rootfs, 'victim'));
      });
      try {
        const outcome = await settle(
          runShell(context, 'echo ran > /victim/ran', { rootfs: hostile.rootfs }),
        );
        // A backend that copes with the odd tree may run it, confined: /victim is inside.
        if ('code' in outcome) assert.equal(outcome.code, 'POLYTHENE_SETUP_FAILED');
        assert.deepEqual(readdirSync(hostile.victim), []);
      } finally {
        hostile.dispose();
      }
    },
  },
  {
    name: 'bind targets behind image symlinks are mounted inside the rootfs, never on host paths',
    async run(context) {
      const hostile = createHostileRootfs(context, (rootfs, victim) => {
        replaceWithSymlink(rootfs, 'root', `/oldroot${victim}`);
        mkdirSync(join(rootfs, 'mnt'), { recursive: true });
        symlinkSync(victim, join(rootfs, 'mnt', 'data'));
        symlinkSync(`../../../../../../../../..${victim}`, join(rootfs, 'opt'));
      });
      try {
        const binds: BindMount[] = [
          { source: hostile.source, target: '/root/by-oldroot', readOnly: false },
          { source: hostile.source, target: '/mnt/data/absolute', readOnly: false },
          { source: join(hostile.source, 'marker'), target: '/opt/file', readOnly: false },
        ];
        const outcome = await settle(
          runShell(context, 'cat /root/by-oldroot/marker /mnt/data/absolute/marker /opt/file', {
            rootfs: hostile.rootfs,
            binds,
          }),
        );
        assert.deepEqual(readdirSync(hostile.victim), [], 'a mount target was made on the host');
        if ('code' in outcome) {
          assert.equal(outcome.code, 'POLYTHENE_SETUP_FAILED');
        } else {
          // Where the symlinks point inside the rootfs, as after a chroot.
          assert.equal(outcome.exitCode, 0, outcome.err);
          assert.equal(outcome.out, 'from the host\n'.repeat(3));
        }
      } finally {
        hostile.dispose();
      }
    },
  },
  {
    name: 'a bind target an image symlink leads into /proc is refused as a set-up failure',
    async run(context) {
      const hostile = createHostileRootfs(context, (rootfs) => {
        replaceWithSymlink(rootfs, 'root', '/proc/self/root/etc');
      });
      try {
        const outcome = await settle(
          runShell(context, 'echo ran', {
            rootfs: hostile.rootfs,
            binds: [{ source: hostile.source, target: '/root', readOnly: false }],
          }),
        );
        assert.ok('code' in outcome, 'the command ran with a bind inside /proc');
        assert.equal(outcome.code, 'POLYTHENE_SETUP_FAILED');
      } finally {
        hostile.dispose();
      }
    },
  },
];
