import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { type CaseResult, measureInterleaved, report } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
// `BENCH_BACKENDS=bwrap` measures only bwrap (bwrap and, as root, chroot by default).
const BACKENDS = process.env.BENCH_BACKENDS?.split(',');

/**
 * `polythene exec ID -- true` through the CLI with `--network none`, `host` and `private`
 * (bwrap, then chroot), interleaved in one run: what each mode costs at start-up, as ratios
 * to `none` and, below each table, what `host` and `private` add in milliseconds and
 * `private` against `host`. `host` should add nothing measurable; `private` adds starting
 * slirp4netns and waiting for it.
 */
export async function benchNetwork(): Promise<string[]> {
  const images = await ensureTestImages();
  const dir = await mkdtemp(join(tmpdir(), 'polythene-bench-network-'));
  try {
    const store = join(dir, 'store');
    const { stdout } = await execa(process.execPath, [
      POLYTHENE_BIN,
      'pull',
      images.busybox,
      '--store',
      store,
      '--quiet',
    ]);
    const id = stdout.trim();
    const run = (backend: string, mode: string) => () =>
      execa(process.execPath, [
        POLYTHENE_BIN,
        'exec',
        id,
        '--store',
        store,
        '--isolation',
        backend,
        '--network',
        mode,
        '--',
        'true',
      ]);
    const sections: string[] = [];
    // chroot needs root: unprivileged, its section is left out.
    const backends = BACKENDS ?? (process.geteuid?.() === 0 ? ['bwrap', 'chroot'] : ['bwrap']);
    for (const backend of backends) {
      const cases: CaseResult[] = await measureInterleaved(
        ['none', 'host', 'private'].map((mode) => ({
          name: `exec --network ${mode}`,
          body: run(backend, mode),
        })),
        RUNS,
      );
      sections.push(
        report(`exec start-up by network mode (${backend}, CLI)`, cases, 'exec --network none'),
        reportAdded(cases),
      );
    }
    return sections;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// What host and private add to none (median against median), and private against host.
function reportAdded(cases: readonly CaseResult[]): string {
  const [none, host, priv] = ['none', 'host', 'private'].map(
    (mode) =>
      cases.find((entry) => entry.name === `exec --network ${mode}`)?.medianMs ?? Number.NaN,
  ) as [number, number, number];
  const added = (ms: number): string => `${ms >= 0 ? '+' : ''}${ms.toFixed(1)} ms`;
  const text = `host ${added(host - none)} (× ${(host / none).toFixed(2)}), private ${added(priv - none)} (× ${(priv / none).toFixed(2)}) over none; private × ${(priv / host).toFixed(2)} host\n`;
  process.stdout.write(`${text}\n`);
  return text;
}
