import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrorCode } from '@polythene/errors';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, type PolytheneImage } from '../src/index.ts';

// A test against a started service: `image.box({ keepAlive: true })` with real bwrap.

let work: string;
let image: PolytheneImage;

beforeAll(async () => {
  const { busybox } = await ensureTestImages();
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-live-'));
  image = await openImage(busybox, { store: join(work, 'store'), isolation: 'bwrap' });
});
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

describe('a box that stays up', () => {
  it('serves a spawned httpd to its next command, after waitForPort and waitForLog', async () => {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const marker = `httpd -f -v -p 127.0.0.1:${port}`;
    let boxId: string;
    {
      await using box = await image.box({ keepAlive: true });
      boxId = box.id;
      expect(box.backend).toBe('bwrap');
      const server = await box.spawn(['sh', '-c', `echo starting; exec ${marker} -h /etc`]);
      await box.waitForLog(/starting/, { timeoutMs: 10_000 });
      await box.waitForPort(port, { timeoutMs: 10_000 });
      const page = await box.exec(['wget', '-qO-', `http://127.0.0.1:${port}/passwd`]);
      expect(page.exitCode, page.stderr).toBe(0);
      expect(page.stdout).toContain('root:x:0:0');
      await box.waitForCommand(['wget', '-qO-', `http://127.0.0.1:${port}/group`], {
        timeoutMs: 5_000,
      });
      expect(hostProcessesMatching(marker)).not.toEqual([]);
      // A fresh box of the same image has a network of its own.
      await using other = await image.box();
      const elsewhere = await other.exec(['wget', '-qO-', `http://127.0.0.1:${port}/passwd`]);
      expect(elsewhere.exitCode).not.toBe(0);
      void server;
    }
    // Disposed: the service and the box are gone.
    expect(hostProcessesMatching(marker)).toEqual([]);
    expect(existsSync(join(image.store, '.boxes', boxId))).toBe(false);
  });

  it('stop() ends a spawned command and gives its exit', async () => {
    await using box = await image.box({ keepAlive: true });
    const sleeper = await box.spawn(['sleep', '1000']);
    await sleeper.stop();
    expect((await sleeper.exit).signal ?? (await sleeper.exit).exitCode).toBeTruthy();
    const done = await box.spawn(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(await done.exit).toEqual({ exitCode: 3, signal: null });
    expect(done.output()).toContain('out');
    expect(done.output()).toContain('err');
  });

  it('a readiness wait that never comes throws a timeout naming it', async () => {
    await using box = await image.box({ keepAlive: true });
    const error = await box.waitForPort(1, { timeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(hasErrorCode(error, 'POLYTHENE_TIMEOUT')).toBe(true);
    expect(String(error)).toContain('port 1');
  });
});
