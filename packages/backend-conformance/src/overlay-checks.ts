import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { type OverlayLayers, type RunSpec, readSubordinateIds } from '@polythene/probe';
import { diffLayers, removeTree } from '@polythene/store';
import type { ConformanceCheck, ConformanceContext, TextRunResult } from './conformance-types.ts';
import { runInSandbox, runShell } from './sandbox-helpers.ts';

/** Why the overlay checks do not apply to this backend here, or undefined when they do. */
export function findOverlayNotApplicable(context: ConformanceContext): string | undefined {
  return context.probe.canOverlay === true
    ? undefined
    : `${context.backend.name} does not offer overlay roots here (its probe has no canOverlay)`;
}

/**
 * A fresh overlay over the context's busybox rootfs (the bottom lower) and a small "clone"
 * layer above it (the top lower: `/etc/mid-file`, `/opt/mid/x`), with an empty upper and work
 * dir, all in a new temp dir that `dispose` removes.
 */
function createTestLayers(context: ConformanceContext): {
  readonly layers: OverlayLayers;
  readonly dir: string;
  readonly dispose: () => Promise<void>;
} {
  const dir = mkdtempSync(join(tmpdir(), 'polythene-conformance-overlay-'));
  const mid = join(dir, 'mid');
  mkdirSync(join(mid, 'etc'), { recursive: true });
  mkdirSync(join(mid, 'opt/mid'), { recursive: true });
  writeFileSync(join(mid, 'etc/mid-file'), 'mid\n');
  writeFileSync(join(mid, 'opt/mid/x'), 'x\n');
  mkdirSync(join(dir, 'upper'));
  mkdirSync(join(dir, 'work'));
  return {
    dir,
    layers: {
      lowerDirs: [mid, context.rootfs],
      upperDir: join(dir, 'upper'),
      workDir: join(dir, 'work'),
    },
    // removeTree: overlayfs leaves its work/work dir mode 0000, which fs.rm cannot enter as
    // non-root.
    dispose: () => removeTree(dir),
  };
}

/** Every path under `root` with its type, mode, owner, size and times: a lower's fingerprint. */
function snapshotTree(root: string): Map<string, string> {
  const snapshot = new Map<string, string>();
  const visit = (relative: string): void => {
    const stats = lstatSync(join(root, relative));
    snapshot.set(
      relative,
      [stats.mode, stats.uid, stats.gid, stats.size, stats.mtimeMs, stats.ctimeMs].join(':'),
    );
    if (stats.isDirectory()) {
      for (const name of readdirSync(join(root, relative))) visit(join(relative, name));
    }
  };
  visit('.');
  return snapshot;
}

/** Lines of the host's mount table that mention any of `paths`. */
function findHostMounts(paths: readonly string[]): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((line) => paths.some((path) => line.includes(path)));
}

/** Runs a shell snippet with `layers` as the overlay root (the top lower as `rootfs`). */
function runOnOverlay(
  context: ConformanceContext,
  layers: OverlayLayers,
  script: string,
  overrides: Partial<RunSpec> = {},
): Promise<TextRunResult> {
  return runShell(context, script, {
    rootfs: layers.lowerDirs[0] as string,
    overlay: layers,
    ...overrides,
  });
}

/**
 * Checks for backends whose probe claims `canOverlay`: the command sees the merged layers,
 * its writes, deletions and metadata changes land in the upper layer in a form the store can
 * diff, the lower layers stay untouched, and no mount is left on the host.
 */
export const OVERLAY_CHECKS: readonly ConformanceCheck[] = [
  {
    name: 'runs on an overlay root: changes land in the upper layer, lowers untouched, no mount left',
    notApplicableReason: findOverlayNotApplicable,
    verifyNotApplicable: verifyOverlayRefused,
    run: async (context) => {
      const test = createTestLayers(context);
      try {
        const { lowerDirs } = test.layers;
        const before = lowerDirs.map(snapshotTree);
        const mountsBefore = findHostMounts([test.dir, context.rootfs]);
        const result = await runOnOverlay(
          context,
          test.layers,
          [
            'set -e',
            'cat /etc/mid-file',
            'test -x /bin/busybox',
            'echo added > /etc/added',
            'echo more >> /etc/mid-file',
            'rm /etc/hosts',
            'rm -r /opt/mid',
            'mkdir /opt/mid',
            'echo fresh > /opt/mid/fresh',
            'chmod 600 /etc/group',
            'echo done',
          ].join('\n'),
        );
        assert.equal(result.exitCode, 0, result.err);
        assert.equal(result.out, 'mid\ndone\n');
        assert.deepEqual(lowerDirs.map(snapshotTree), before, 'a lower layer changed');
        assert.deepEqual(findHostMounts([test.dir, context.rootfs]), mountsBefore);
        const diff = await diffLayers(test.layers.upperDir, lowerDirs);
        assert.deepEqual(diff, {
          added: ['/etc/added', '/opt/mid/fresh'],
          modified: ['/etc/group', '/etc/mid-file'],
          deleted: ['/etc/hosts', '/opt/mid/x'],
        });
        assert.equal(
          readFileSync(join(test.layers.upperDir, 'etc/mid-file'), 'utf8'),
          'mid\nmore\n',
        );
      } finally {
        await test.dispose();
      }
    },
  },
  {
    name: 'runs a non-root image user on an overlay root',
    notApplicableReason: findOverlayNotApplicable,
    verifyNotApplicable: verifyOverlayRefused,
    run: async (context) => {
      const test = createTestLayers(context);
      try {
        const before = test.layers.lowerDirs.map(snapshotTree);
        const result = await runOnOverlay(
          context,
          test.layers,
          'set -e; id -u; echo mine > /tmp/by-app; cat /etc/mid-file',
          { uid: 1000, gid: 1000 },
        );
        assert.equal(result.exitCode, 0, result.err);
        assert.equal(result.out, '1000\nmid\n');
        assert.deepEqual(test.layers.lowerDirs.map(snapshotTree), before, 'a lower layer changed');
        const diff = await diffLayers(test.layers.upperDir, test.layers.lowerDirs);
        assert.deepEqual(diff, { added: ['/tmp/by-app'], modified: [], deleted: [] });
        assert.equal(
          lstatSync(join(test.layers.upperDir, 'tmp/by-app')).uid,
          expectedHostUid(context.probe.guarantees.includes('ids'), 1000),
        );
      } finally {
        await test.dispose();
      }
    },
  },
  {
    name: 'binds host paths on an overlay root, creating missing targets in the upper layer',
    notApplicableReason: findOverlayNotApplicable,
    verifyNotApplicable: verifyOverlayRefused,
    run: async (context) => {
      const test = createTestLayers(context);
      try {
        const source = join(test.dir, 'bind-source');
        mkdirSync(source);
        writeFileSync(join(source, 'from-host'), 'host\n');
        const before = test.layers.lowerDirs.map(snapshotTree);
        const result = await runOnOverlay(context, test.layers, 'cat /mnt/deep/bind/from-host', {
          binds: [{ source, target: '/mnt/deep/bind', readOnly: true }],
        });
        assert.equal(result.exitCode, 0, result.err);
        assert.equal(result.out, 'host\n');
        assert.deepEqual(test.layers.lowerDirs.map(snapshotTree), before, 'a lower layer changed');
        assert.ok(lstatSync(join(test.layers.upperDir, 'mnt/deep/bind')).isDirectory());
      } finally {
        await test.dispose();
      }
    },
  },
  {
    name: 'throws POLYTHENE_SETUP_FAILED when an overlay layer is missing',
    notApplicableReason: findOverlayNotApplicable,
    verifyNotApplicable: verifyOverlayRefused,
    run: async (context) => {
      const test = createTestLayers(context);
      try {
        const layers = { ...test.layers, upperDir: join(test.dir, 'no-such-upper') };
        await assert.rejects(runOnOverlay(context, layers, 'true'), (error: unknown) => {
          assert.equal((error as { code?: string }).code, 'POLYTHENE_SETUP_FAILED');
          return true;
        });
      } finally {
        await test.dispose();
      }
    },
  },
];

/**
 * A backend without overlay roots must refuse an overlay spec as a set-up failure (the run
 * ends with exit 125), never run the command on the bare lower layer instead.
 */
async function verifyOverlayRefused(context: ConformanceContext): Promise<void> {
  const test = createTestLayers(context);
  try {
    await assert.rejects(runInSandbox(context, ['/bin/true'], { overlay: test.layers }), {
      code: 'POLYTHENE_SETUP_FAILED',
    });
  } finally {
    await test.dispose();
  }
}

/**
 * The host uid of in-box uid `inBox` after a run: as root the image user itself; unprivileged,
 * with every id mapped (`ids`), its subordinate id (`/etc/subuid`: in-box 0 is the caller,
 * 1–65535 the range), else the caller (a one-id map).
 */
function expectedHostUid(mapsEveryId: boolean, inBox: number): number {
  const uid = process.geteuid?.() ?? 0;
  if (uid === 0) return inBox;
  if (!mapsEveryId) return uid;
  const range = readSubordinateIds('/etc/subuid', userInfo().username, uid, 65535);
  assert.ok(range !== undefined, 'the backend claims ids without a subordinate uid range');
  return range.start + inBox - 1;
}
