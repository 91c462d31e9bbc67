import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLargeImage, ensureTestImages } from '@polythene/test-images';
import { measureInterleaved, measurePeakRssKiB, report, sh } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/**
 * `polythene pull` against the bare podman pipeline and the floor (`tar -c | tar -x` of the
 * same tree), on the busybox image and on a large image, all measured in this run.
 */
export async function benchPull(): Promise<string[]> {
  const images = await ensureTestImages();
  const large = await ensureLargeImage();
  const sections: string[] = [];
  for (const [label, ref] of [
    ['busybox', images.busybox],
    [`large (${large.fileCount} files, ${(large.sizeBytes / 1e6).toFixed(0)} MB)`, large.ref],
  ] as const) {
    sections.push(await benchPullOf(label, ref));
  }
  return sections;
}

async function benchPullOf(label: string, ref: string): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-pull-'));
  const store = join(work, 'store');
  const source = join(work, 'source');
  const target = join(work, 'target');
  const clean = async () => {
    await sh(`rm -rf ${target} ${store}; mkdir -p ${target}; sync`);
  };
  // The floor copies the very tree the image holds.
  await sh(
    `mkdir -p ${source} && cid=$(podman create ${ref} /bin/true) && podman export "$cid" | tar -C ${source} -x && podman rm -f "$cid" >/dev/null`,
  );

  // Every run starts from an empty target with dirty pages written back, so the disk's
  // write-back debt of one case is not billed to the next.
  const cases = await measureInterleaved(
    [
      {
        name: 'floor: tar -c | tar -x',
        body: () => sh(`tar -C ${source} -c . | tar -C ${target} -x`),
        before: clean,
      },
      {
        name: 'bare: podman create + export | tar -x + rm',
        body: () =>
          sh(
            `cid=$(podman create ${ref} /bin/true) && podman export "$cid" | tar -C ${target} -x && podman rm -f "$cid" >/dev/null`,
          ),
        before: clean,
      },
      {
        name: 'polythene pull',
        body: () => sh(`node ${POLYTHENE_BIN} pull ${ref} --store ${store} --quiet`),
        before: clean,
      },
    ],
    RUNS,
  );
  await clean();
  const rssKiB = await measurePeakRssKiB(process.execPath, [
    POLYTHENE_BIN,
    'pull',
    ref,
    '--store',
    store,
    '--quiet',
  ]);
  const text = report(`pull: ${label}`, cases, 'floor: tar -c | tar -x');
  const memory = `polythene pull peak RSS: ${(rssKiB / 1024).toFixed(1)} MiB\n`;
  process.stdout.write(memory);
  await rm(work, { recursive: true, force: true });
  return `${text}\n${memory}`;
}
