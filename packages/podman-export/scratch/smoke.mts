import { mkdtemp } from 'node:fs/promises';
import { exportImage } from '/work/main/packages/podman-export/src/index.ts';
for (const method of ['export', 'mount', 'auto'] as const) {
  const dir = await mkdtemp('/tmp/pe-smoke-');
  const t = performance.now();
  const r = await exportImage({ ref: process.argv[2] ?? 'localhost/pe-scratch/busybox:latest', targetDir: dir, method, log: (l) => console.error('  $', l), onProgress: (e) => console.error('  >', JSON.stringify(e)) });
  console.log(method, dir, Math.round(performance.now() - t), 'ms', JSON.stringify(r));
}
