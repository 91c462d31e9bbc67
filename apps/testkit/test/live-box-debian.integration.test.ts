import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebCache, ensureDebianImage } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, type PolytheneImage } from '../src/index.ts';

// A real Debian service through the testkit: python3 from the cached .debs, installed in a
// box that stays up, its http.server started, awaited, used and stopped. Root only (the
// .deb cache needs the host's APT).

let work: string;
let image: PolytheneImage;
let debsDir: string;

beforeAll(async () => {
  const debian = await ensureDebianImage();
  debsDir = (await ensureDebCache(['python3'])).dir;
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-debian-'));
  image = await openImage(debian.ref, { store: join(work, 'store'), isolation: 'bwrap' });
}, 600_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function hostProcessesMatching(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.runIf(process.getuid?.() === 0)('a Debian service in a box that stays up', () => {
  it('installs python3, serves with http.server, and leaves nothing once disposed', async () => {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const marker = `http.server ${port}`;
    let boxId: string;
    {
      await using box = await image.box({ keepAlive: true, binds: [`${debsDir}:/debs:ro`] });
      boxId = box.id;
      // dpkg -i takes the files in name order: each pass settles what a Pre-Depends held back.
      const install = await box.exec(
        'for pass in 1 2 3 4; do dpkg --skip-same-version -i /debs/*.deb >/tmp/dpkg.log 2>&1 && exit 0; done; cat /tmp/dpkg.log; exit 1',
        { timeoutMs: 240_000 },
      );
      expect(install.exitCode, install.stderr).toBe(0);
      await box.exec('mkdir -p /srv && echo "hello from a box" > /srv/index.html');
      const server = await box.spawn(
        ['python3', '-u', '-m', 'http.server', String(port), '--bind', '127.0.0.1'],
        { cwd: '/srv' },
      );
      await box.waitForLog(/Serving HTTP/, { timeoutMs: 30_000 });
      await box.waitForPort(port, { timeoutMs: 30_000 });
      const fetch = [
        'python3',
        '-c',
        `import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:${port}/").read().decode(), end="")`,
      ];
      await box.waitForCommand(fetch, { timeoutMs: 30_000 });
      const page = await box.exec(fetch);
      expect(page.stdout).toBe('hello from a box\n');
      expect(hostProcessesMatching(marker)).not.toEqual([]);
      await server.stop();
      expect(server.output()).toContain('"GET / HTTP/1.1" 200');
    }
    expect(hostProcessesMatching(marker)).toEqual([]);
    expect(existsSync(join(image.store, '.boxes', boxId))).toBe(false);
  }, 400_000);
});
