import { execSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { ensureLargeImage } from '@polythene/test-images';
import { exportImage } from '../src/index.ts';

const large = await ensureLargeImage();
console.log('large image', JSON.stringify(large));
const ref = large.ref;
const runs = Number(process.env.RUNS ?? 3);
async function time(label: string, fn: (dir: string) => Promise<void> | void): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = await mkdtemp('/var/tmp/pe-bench-');
    const t = performance.now();
    await fn(dir);
    samples.push(performance.now() - t);
    await rm(dir, { recursive: true, force: true });
  }
  samples.sort((a, b) => a - b);
  console.log(label.padEnd(40), 'median', Math.round(samples[Math.floor(samples.length / 2)]!), 'ms', samples.map(Math.round).join(' '));
}
const sh = (cmd: string) => execSync(cmd, { stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/bash' });
await time('floor: tar -c mounted | tar -x', (dir) => {
  sh(`m=$(podman image mount ${ref}); tar -C "$m" -c . | tar -x -p -C ${dir}; podman image umount ${ref} >/dev/null`);
});
await time('bare: create + podman export | tar -x', (dir) => {
  sh(`c=$(podman create --entrypoint=/x ${ref}); podman export $c | tar -x -p -C ${dir}; podman rm -f $c >/dev/null`);
});
await time('exportImage method=export', async (dir) => {
  await exportImage({ ref, targetDir: dir, method: 'export' });
});
await time('exportImage method=mount', async (dir) => {
  await exportImage({ ref, targetDir: dir, method: 'mount' });
});
