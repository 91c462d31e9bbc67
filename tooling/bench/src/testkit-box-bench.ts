import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { openImage } from '@polythene/testkit';
import { bareCommandLine } from './exec-bench.ts';
import { measureInterleaved, report, sh } from './measure.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const BARE = 'bare bwrap … /bin/true on a plain tree';

function bwrapTrue(rootfs: string): Promise<void> {
  const [file, args] = bareCommandLine('bwrap', rootfs);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`bwrap exited ${code}`)),
    );
  });
}

/**
 * The cost a test pays for a box of its own, as root: a fresh testkit box, one
 * `exec /bin/true` in it, then disposed, against a bare `bwrap … /bin/true` on a plain copy
 * of the same tree. The root-in-the-box issue's goal: at most 1.5 ×.
 */
export async function benchTestkitBox(): Promise<string[]> {
  const images = await ensureTestImages();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-testkit-box-'));
  const store = join(work, 'store');
  const plain = join(work, 'plain');
  try {
    const image = await openImage(images.busybox, { store, isolation: 'bwrap' });
    await sh(`cp -a -- ${join(store, image.id)} ${plain}`);
    const results = await measureInterleaved(
      [
        { name: BARE, body: () => bwrapTrue(plain) },
        {
          name: `image.box() + exec /bin/true + dispose (${image.boxMethod})`,
          body: async () => {
            await using box = await image.box();
            const result = await box.exec(['/bin/true']);
            if (result.exitCode !== 0) throw new Error(`exec exited ${result.exitCode}`);
          },
        },
      ],
      RUNS,
    );
    return [report('testkit: a box per test, as root (goal: at most 1.50)', results, BARE)];
  } finally {
    await sh(`rm -rf -- ${plain}`).catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}
