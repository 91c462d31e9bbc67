import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canRunOverlayHere } from '@polythene/cli';
import { ensureLargeImage } from '@polythene/test-images';
import { type Box, openImage } from '@polythene/testkit';
import { execa } from 'execa';
import { type CaseResult, measure, report, sh } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
// Boxes per 100-box case; full copies (no overlay here) take seconds each, so fewer are made
// and the total is scaled to 100.
const BOXES = 100;
const BOXES_WITHOUT_OVERLAY = 5;

/**
 * Disposable copies of the large image: `image.box()` and `polythene clone --method auto`
 * against `cp -a` of the same tree, in the same run; then 100 boxes created and disposed, the
 * testkit's total overhead for a 100-test suite.
 */
export async function benchCopy(): Promise<string[]> {
  const large = await ensureLargeImage();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-copy-'));
  const store = join(work, 'store');
  const target = join(work, 'cp-target');
  try {
    const image = await openImage(large.ref, { store });
    const source = join(store, image.id);
    const hasOverlay = await canRunOverlayHere();
    const label = `${large.fileCount} files, ${(large.sizeBytes / 1e6).toFixed(0)} MB; boxes: ${image.boxMethod}${hasOverlay ? '' : ' (no backend here mounts overlays yet)'}`;

    const cpCase = await measure('cp -a of the rootfs', () => sh(`cp -a -- ${source} ${target}`), {
      runs: RUNS,
      after: () => sh(`rm -rf -- ${target}`),
    });
    let box: Box | undefined;
    const boxCase = await measure(
      'image.box()',
      async () => {
        box = await image.box();
      },
      { runs: RUNS, after: async () => box?.dispose() },
    );
    let cloneId = '';
    const cloneCase = await measure(
      'polythene clone --method auto (CLI)',
      async () => {
        const { stdout } = await execa(process.execPath, [
          POLYTHENE_BIN,
          'clone',
          image.id,
          '--store',
          store,
          '--method',
          'auto',
        ]);
        cloneId = stdout.trim();
      },
      {
        runs: RUNS,
        after: () => execa(process.execPath, [POLYTHENE_BIN, 'rm', cloneId, '--store', store]),
      },
    );
    const nodeCase = await measure(
      'node -e 0 (CLI start-up floor)',
      () => execa(process.execPath, ['-e', '0']),
      { runs: RUNS },
    );
    const made = image.boxMethod === 'overlay' ? BOXES : BOXES_WITHOUT_OVERLAY;
    const batch = await measure(
      `${made} × image.box() + dispose()`,
      async () => {
        for (let index = 0; index < made; index += 1) {
          const each = await image.box();
          await each.dispose();
        }
      },
      { runs: Math.max(1, Math.floor(RUNS / 5)), warmup: 0 },
    );
    const hundred: CaseResult = {
      name: `${BOXES} boxes${made === BOXES ? '' : ` (scaled from ${made})`}`,
      runs: batch.runs,
      medianMs: (batch.medianMs / made) * BOXES,
      minMs: (batch.minMs / made) * BOXES,
    };
    const perBox: CaseResult = {
      name: 'per box',
      runs: batch.runs,
      medianMs: batch.medianMs / made,
      minMs: batch.minMs / made,
    };
    const speedups = [
      `image.box(): ${(cpCase.medianMs / boxCase.medianMs).toFixed(0)}× faster than cp -a (goal: 20× where overlay is available)`,
      `polythene clone: ${(cpCase.medianMs / cloneCase.medianMs).toFixed(1)}× faster than cp -a, CLI start-up included`,
      `${BOXES} boxes created and disposed: ${hundred.medianMs.toFixed(0)} ms of testkit overhead in total (goal: well under 1000 ms)`,
    ];
    process.stdout.write(`${speedups.join('\n')}\n\n`);
    return [
      report(`copy: large image (${label})`, [cpCase, boxCase, cloneCase, nodeCase], cpCase.name),
      report(
        `copy: ${BOXES} boxes, total testkit overhead`,
        made === BOXES ? [cpCase, batch, perBox] : [cpCase, batch, hundred, perBox],
        cpCase.name,
      ),
      `${speedups.map((line) => `- ${line}`).join('\n')}\n`,
    ];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
