import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { type CaseResult, measureInterleaved, report } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);

/**
 * `polythene exec ID -- true` through the CLI with `--network none`, `host` and `private`
 * (bwrap, then chroot), interleaved: what each mode costs at start-up. `none` is the baseline; `host`
 * should add nothing measurable, `private` adds starting slirp4netns and waiting for it.
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
    const backends = process.geteuid?.() === 0 ? ['bwrap', 'chroot'] : ['bwrap'];
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
      );
    }
    return sections;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
