import { spawnSync } from 'node:child_process';
import { chown, mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestImagesAs, ensureTestUser, runAsTestUser, type TestImages, type TestUser } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const hasPodman = spawnSync('podman', ['--version']).status === 0;
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const cli = fileURLToPath(new URL('./helpers/export-cli.ts', import.meta.url));
let user: TestUser;
let images: TestImages;
let base: string;

async function exportAsUser(options: Record<string, unknown>): Promise<Record<string, any>> {
  const result = await runAsTestUser([process.execPath, tsxCli, cli, JSON.stringify(options)], { timeoutMs: 300_000 });
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
}

async function labelledContainersOfUser(): Promise<string> {
  const result = await runAsTestUser(['podman', 'container', 'ls', '--all', '--quiet', '--filter', 'label=io.polythene.pull']);
  return result.stdout.trim();
}

// Rootless podman needs an unprivileged account, which only root can switch to here.
describe.skipIf(!isRoot || !hasPodman)('exportImage as an unprivileged user (rootless podman)', () => {
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
      expect(result.config.user).toBe('1000:1000');
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

  it('maps a dead registry to PULL_FAILED and leaves no container', async () => {
    const target = join(base, 'rootfs-dead');
    await runAsTestUser(['mkdir', target]);
    const result = await exportAsUser({ ref: '127.0.0.1:1/nothing:latest', targetDir: target });
    expect(result.error?.code).toBe('POLYTHENE_PULL_FAILED');
    expect(await labelledContainersOfUser()).toBe('');
  });
});
