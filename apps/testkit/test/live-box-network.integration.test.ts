import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, type PolytheneImage } from '../src/index.ts';

// A box that stays up with its own network and limits: `image.box({ keepAlive: true,
// network: 'private', publish, memory })`, with real bwrap and slirp4netns.

let work: string;
let image: PolytheneImage;

beforeAll(async () => {
  const { busybox } = await ensureTestImages();
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-live-net-'));
  image = await openImage(busybox, { store: join(work, 'store'), isolation: 'bwrap' });
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe('a box that stays up, with network and limits', () => {
  it('publishes a spawned service to the host and holds its commands to the memory limit', async () => {
    const port = await freePort();
    await using box = await image.box({
      keepAlive: true,
      network: 'private',
      publish: [`${port}:8080`],
      memory: '64m',
    });
    const server = await box.spawn(['httpd', '-f', '-p', '8080', '-h', '/etc']);
    await box.waitForPort(8080, { timeoutMs: 20_000 });
    const page = await fetch(`http://127.0.0.1:${port}/passwd`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('root:x:0:0');
    const hog = await box.exec(['sh', '-c', 'x=a; while :; do x="$x$x"; done']);
    expect(hog.exitCode).toBe(137);
    expect(hog.network).toBe('private');
    // The service runs on after the hog was killed.
    expect((await fetch(`http://127.0.0.1:${port}/passwd`)).status).toBe(200);
    await server.stop();
  });
});
