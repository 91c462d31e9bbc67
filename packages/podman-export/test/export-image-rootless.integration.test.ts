import { spawnSync } from 'node:child_process';
import { chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureTestImagesAs,
  ensureTestUser,
  runAsTestUser,
  type TestImages,
  type TestUser,
} from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTar } from './helpers/build-tar.ts';

const isRoot = process.getuid?.() === 0;
const hasPodman = spawnSync('podman', ['--version']).status === 0;
// tsx is a dependency of the test-images package, not of this one: resolve it from there.
const tsxCli = createRequire(fileURLToPath(import.meta.resolve('@polythene/test-images'))).resolve(
  'tsx/cli',
);
const cli = fileURLToPath(new URL('./helpers/export-cli.ts', import.meta.url));
const extractCli = fileURLToPath(new URL('./helpers/extract-cli.ts', import.meta.url));
let user: TestUser;
let images: TestImages;
let base: string;

/** What the export CLI helper prints: the result, or the error's code and message. */
interface ExportOutcome {
  error?: { code?: string; message: string };
  method?: string;
  config?: { user?: string };
}

async function exportAsUser(options: Record<string, unknown>): Promise<ExportOutcome> {
  const result = await runAsTestUser([process.execPath, tsxCli, cli, JSON.stringify(options)], {
    timeoutMs: 300_000,
  });
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
}

async function labelledContainersOfUser(): Promise<string> {
  const result = await runAsTestUser([
    'podman',
    'container',
    'ls',
    '--all',
    '--quiet',
    '--filter',
    'label=io.polythene.pull',
  ]);
  return result.stdout.trim();
}

// Rootless podman needs an unprivileged account, which only root can switch to here.
describe.skipIf(!isRoot || !hasPodman)(
  'exportImage as an unprivileged user (rootless podman)',
  () => {
    beforeAll(async () => {
      user = await ensureTestUser();
      images = await ensureTestImagesAs(user);
      base = await mkdtemp('/var/tmp/pe-rootless-');
      await chown(base, user.uid, user.gid);
    });

    afterAll(async () => {
      if (base) await rm(base, { recursive: true, force: true });
    });

    for (const method of ['auto', 'export', 'mount'] as const) {
      it(`exports busybox with method ${method}; files belong to the user`, async () => {
        const target = join(base, `rootfs-${method}`);
        await runAsTestUser(['mkdir', target]);
        const result = await exportAsUser({ ref: images.configured, targetDir: target, method });
        expect(result.error).toBeUndefined();
        expect(result.method).toBe(method === 'export' ? 'export' : 'mount');
        expect(result.config?.user).toBe('1000:1000');
        // Image owners (0, 1000) cannot be kept without privileges; everything is the user's.
        for (const path of ['bin/busybox', 'srv/app', 'etc/passwd']) {
          expect((await stat(join(target, path))).uid).toBe(user.uid);
        }
        const ran = await runAsTestUser([join(target, 'bin/busybox'), 'echo', 'alive']);
        expect(ran.stdout).toBe('alive');
        // The user can delete what it extracted, as the documented clean-up does.
        await runAsTestUser(['rm', '-rf', target]);
        expect(await labelledContainersOfUser()).toBe('');
      });
    }

    it('extracts as the user: owners dropped, setuid kept, read-only directories still deletable', async () => {
      const archive = join(base, 'tree.tar');
      await writeFile(
        archive,
        buildTar([
          { name: 'usr/', type: '5', mode: 0o555, uid: 0 },
          { name: 'usr/bin/', type: '5', mode: 0o555, uid: 0 },
          { name: 'usr/bin/su', data: 'x', mode: 0o4755, uid: 0 },
          { name: 'home/app/', type: '5', mode: 0o700, uid: 1000, gid: 1000 },
          { name: 'dev/null', type: '3' },
        ]),
      );
      const target = join(base, 'rootfs-tar');
      await runAsTestUser(['mkdir', target]);
      const run = await runAsTestUser([process.execPath, tsxCli, extractCli, archive, target]);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({
        bytesRead: expect.any(Number),
        filesExtracted: 4,
        skippedSpecialFiles: 1,
      });
      const su = await stat(join(target, 'usr/bin/su'));
      expect(su.uid).toBe(user.uid);
      expect(su.mode & 0o7777).toBe(0o4755);
      expect((await stat(join(target, 'usr'))).mode & 0o777).toBe(0o755);
      expect((await stat(join(target, 'home/app'))).uid).toBe(user.uid);
      await runAsTestUser(['rm', '-rf', target]);
    });

    it('maps a dead registry to PULL_FAILED and leaves no container', async () => {
      const target = join(base, 'rootfs-dead');
      await runAsTestUser(['mkdir', target]);
      const result = await exportAsUser({ ref: '127.0.0.1:1/nothing:latest', targetDir: target });
      expect(result.error?.code).toBe('POLYTHENE_PULL_FAILED');
      expect(await labelledContainersOfUser()).toBe('');
    });
  },
);
