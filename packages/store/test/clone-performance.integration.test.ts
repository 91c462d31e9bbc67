import { statSync } from 'node:fs';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLargeRootfs } from '@polythene/test-images';
import { describe, expect, it } from 'vitest';
import { runCp } from '../src/copy-tree.ts';
import { openStore, removeTree } from '../src/index.ts';

async function timeMs(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return Math.round((performance.now() - started) * 10) / 10;
}

// A measurement, not a timing test: it prints the numbers and only asserts the one ratio
// the design depends on, with a wide margin (an overlay clone costs a few syscalls, a copy
// is proportional to the tree).
describe('clone cost on a large rootfs (~10k files, ~136 MB)', () => {
  it('overlay clones are at least 20x faster than cp -a; reports copy and diff times', async () => {
    const base = await mkdtemp(join(tmpdir(), 'polythene-clone-perf-'));
    try {
      const store = await openStore(join(base, 'store'));
      const entry = await store.createEntry();
      await createLargeRootfs(entry.path);
      let commitMs = 0;
      let metadata = undefined as unknown as Awaited<ReturnType<typeof entry.commit>>;
      commitMs = await timeMs(async () => {
        metadata = await entry.commit({
          image: 'large',
          origin: { kind: 'pull' },
          config: { env: [] },
        });
      });
      const rootfs = await store.rootfsPath(metadata.id);
      const cpAMs = await timeMs(() => runCp(['-a', '--', rootfs, join(base, 'cp-a')]));
      const fsCpMs = await timeMs(() =>
        cp(rootfs, join(base, 'fs-cp'), {
          recursive: true,
          verbatimSymlinks: true,
          preserveTimestamps: true,
        }),
      );
      let overlayId = '';
      const overlayMs = await timeMs(async () => {
        overlayId = (await store.cloneEntry(metadata.id, { method: 'overlay' })).id;
      });
      let copyId = '';
      const copyMs = await timeMs(async () => {
        copyId = (await store.cloneEntry(metadata.id, { method: 'copy' })).id;
      });
      await writeFile(join(await store.rootfsPath(copyId), 'etc/changed'), 'x');
      const diffDirectoryMs = await timeMs(() => store.diffEntry(copyId));
      const diffOverlayMs = await timeMs(() => store.diffEntry(overlayId));
      const scratchMs = await timeMs(async () => {
        const scratch = await store.createScratchLayer(metadata.id);
        await scratch.dispose();
      });
      const report = {
        files: metadata.fileCount,
        sizeMB: Math.round(metadata.sizeBytes / 1e6),
        manifestKB: Math.round(statSync(join(store.dir, `${metadata.id}.manifest`)).size / 1e3),
        commitWithManifestMs: commitMs,
        cpAMs,
        nodeFsCpMs: fsCpMs,
        cloneOverlayMs: overlayMs,
        cloneCopyMs: copyMs,
        diffDirectoryMs,
        diffEmptyOverlayMs: diffOverlayMs,
        scratchLayerCreateAndDisposeMs: scratchMs,
        overlaySpeedup: Math.round(cpAMs / overlayMs),
      };
      console.info(`clone performance: ${JSON.stringify(report)}`);
      expect(await store.diffEntry(copyId)).toEqual({
        added: ['/etc/changed'],
        modified: [],
        deleted: [],
      });
      expect(cpAMs / overlayMs).toBeGreaterThanOrEqual(20);
    } finally {
      await removeTree(base);
    }
  }, 300_000);
});
