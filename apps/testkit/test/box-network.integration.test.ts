import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, type PolytheneImage } from '../src/index.ts';

// image.box({ network }) sets every command's network; box.exec(…, { network }) overrides it.
let work: string;
let image: PolytheneImage;
let server: Server;
let url: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-network-'));
  image = await openImage((await ensureTestImages()).busybox, { store: join(work, 'store') });
  server = createServer((_request, response) => response.end('on-the-host\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a box with a network', () => {
  it('reaches the host loopback with network: host, and not per exec with none', async () => {
    await using box = await image.box({ network: 'host' });
    const reached = await box.exec(`timeout 10 wget -q -O- ${url}`);
    expect(reached.stdout, reached.stderr).toBe('on-the-host\n');
    expect(reached.network).toBe('host');
    const cut = await box.exec(`timeout 10 wget -q -O- ${url}`, { network: 'none' });
    expect(cut.exitCode).not.toBe(0);
    expect(cut.network).toBe('none');
  });

  it('defaults to none, and runs one exec with private', async () => {
    await using box = await image.box();
    const cut = await box.exec(`timeout 10 wget -q -O- ${url}`);
    expect(cut.exitCode).not.toBe(0);
    expect(cut.network).toBe('none');
    const isolated = await box.exec('cat /etc/resolv.conf 2>/dev/null; ip -o -4 addr show tap0', {
      network: 'private',
    });
    expect(isolated.stdout, isolated.stderr).toMatch(/inet 10\.0\.2\.100\//);
    expect(isolated.network).toBe('private');
  });
});
