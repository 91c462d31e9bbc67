import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestImages } from '@polythene/test-images';
import { canRunOverlayHere } from 'polythene';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BoxMethod, openImage } from '../src/index.ts';

// A hostile command swaps paths of the box between real directories/files and symlinks to a
// host directory (renameat2 RENAME_EXCHANGE in a loop, a static helper built here), while the
// test reads and writes through the box's file methods: none may ever touch the host directory.
const SWAPPER_SOURCE = fileURLToPath(new URL('./fixtures/hostile/swap-paths.c', import.meta.url));
let swapper: Buffer;
let work: string;
let store: string;
let hostDir: string;
let busybox: string;
let canOverlay: boolean;

const HOST_SECRET = 'host-secret\n';
const ROUNDS = 1500;

beforeAll(async () => {
  busybox = (await ensureTestImages()).busybox;
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-race-'));
  store = join(work, 'store');
  hostDir = join(work, 'host');
  canOverlay = await canRunOverlayHere();
  execFileSync('gcc', ['-static', '-O2', '-o', join(work, 'swap-paths'), SWAPPER_SOURCE]);
  swapper = await readFile(join(work, 'swap-paths'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each(['copy', 'overlay'] as const)('a %s box', (method: BoxMethod) => {
  it('never reads or writes a host file through a symlink a command swaps in', async (context) => {
    if (method === 'overlay' && !canOverlay) context.skip();
    await rm(hostDir, { recursive: true, force: true });
    await mkdir(hostDir, { mode: 0o777 });
    await chmod(hostDir, 0o777);
    await writeFile(join(hostDir, 'secret'), HOST_SECRET, { mode: 0o666 });
    await writeFile(join(hostDir, 'file'), HOST_SECRET, { mode: 0o666 });
    await writeFile(join(hostDir, 'host-only'), HOST_SECRET, { mode: 0o666 });
    await mkdir(join(hostDir, 'q'), { mode: 0o777 });
    await chmod(join(hostDir, 'q'), 0o777);
    await writeFile(join(hostDir, 'q', 'secret'), HOST_SECRET, { mode: 0o666 });
    const image = await openImage(busybox, { store, boxMethod: method });
    await using box = await image.box();
    await box.writeFile('/swap-paths', swapper, { mode: 0o755 });
    const setUp = await box.exec(
      `mkdir /d && echo box > /d/secret && ln -s ${hostDir} /d.lnk && ` +
        `mkdir -p /p/q && echo box > /p/q/secret && ln -s ${hostDir} /p.lnk && ` +
        `echo box > /file && ln -s ${hostDir}/file /file.lnk`,
    );
    expect(setUp.stderr).toBe('');
    const swapping = box
      .exec(
        [
          '/swap-paths',
          ...['/d', '/d.lnk', hostDir],
          ...['/p', '/p.lnk', hostDir],
          ...['/file', '/file.lnk', `${hostDir}/file`],
        ],
        { timeoutMs: 120_000 },
      )
      .catch(() => undefined);
    let wrote = 0;
    let read = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      if (
        await box.writeFile('/d/written', 'pwned\n').then(
          () => true,
          () => false,
        )
      )
        wrote += 1;
      // A new directory to create under a swapped parent (copy-up when overlaid).
      await box.writeFile('/p/q/new-dir/written', 'pwned\n').catch(() => undefined);
      expect(await box.readFile('/p/q/secret').catch(() => undefined)).not.toBe(HOST_SECRET);
      await box.writeFile('/file', 'pwned\n').catch(() => undefined);
      const seen = await box.readFile('/d/secret').catch(() => undefined);
      if (seen !== undefined) read += 1;
      expect(seen).not.toBe(HOST_SECRET);
      expect(await box.readFile('/file').catch(() => undefined)).not.toBe(HOST_SECRET);
      expect(await box.exists('/d/host-only').catch(() => false)).toBe(false);
      if (round % 25 === 0) {
        // The diff walks the box while it changes: never into the host directory.
        const changed = await box.diff();
        const paths = [...changed.added, ...changed.modified, ...changed.deleted];
        expect(paths.filter((path) => path.endsWith('/host-only'))).toEqual([]);
      }
    }
    await box.dispose();
    await swapping;
    expect((await readdir(hostDir)).sort()).toEqual(['file', 'host-only', 'q', 'secret']);
    expect(await readdir(join(hostDir, 'q'))).toEqual(['secret']);
    expect(await readFile(join(hostDir, 'secret'), 'utf8')).toBe(HOST_SECRET);
    expect(await readFile(join(hostDir, 'file'), 'utf8')).toBe(HOST_SECRET);
    // The race was real: some operations did reach the box's own directory.
    expect(wrote + read).toBeGreaterThan(0);
  });
});
