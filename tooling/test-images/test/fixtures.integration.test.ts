import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureLargeImage,
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  type LoopbackRegistry,
  runAsTestUser,
  startLoopbackRegistry,
  type TestImages,
  type TestUser,
  testUserEnv,
} from '../src/index.ts';

const hasPodman = (await execa('podman', ['--version'], { reject: false })).exitCode === 0;
const isRoot = process.getuid?.() === 0;
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

async function podman(args: string[], env: Record<string, string> = {}) {
  return execa('podman', args, { env, reject: false, stdin: 'ignore' });
}

async function imageId(ref: string): Promise<string> {
  return (await execa('podman', ['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();
}

// `podman untag IMAGE` alone strips every name of the image: name the one to drop.
async function untag(ref: string): Promise<void> {
  await podman(['untag', ref, ref]);
}

function stripTransport(ref: string): string {
  return ref.slice(ref.indexOf(':') + 1);
}

describe.skipIf(!hasPodman)('test images for the current user (needs podman)', () => {
  let images: TestImages;

  beforeAll(async () => {
    images = await ensureTestImages();
  });

  it('imports busybox, configured and no-shell into podman', async () => {
    for (const ref of [images.busybox, images.configured, images.noShell]) {
      expect((await podman(['image', 'exists', ref])).exitCode, ref).toBe(0);
    }
  });

  it('gives the configured image the documented config', async () => {
    const { stdout } = await execa('podman', [
      'image',
      'inspect',
      '--format',
      '{{json .Config}}',
      images.configured,
    ]);
    const config = JSON.parse(stdout) as Record<string, unknown>;
    expect(config.Env).toEqual(['GREETING=hello', 'PATH=/usr/local/bin:/usr/bin:/bin']);
    expect(config.WorkingDir).toBe('/srv/app');
    expect(config.User).toBe('1000:1000');
    expect(config.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(config.Cmd).toEqual(['echo configured']);
  });

  it('builds a no-shell image holding only /hello', async () => {
    const container = (await execa('podman', ['create', images.noShell])).stdout.trim();
    try {
      const exported = await execa('sh', ['-c', `podman export ${container} | tar -t`]);
      const entries = exported.stdout.split('\n').filter((entry) => entry !== '');
      expect(entries).toContain('hello');
      expect(entries.some((entry) => /^(\.\/)?bin\/(sh|busybox)$/.test(entry))).toBe(false);
    } finally {
      await podman(['rm', '--force', container]);
    }
  });

  it('writes archives that podman pulls back to the same image', async () => {
    const expected = await imageId(images.busybox);
    for (const ref of [
      images.ociArchive,
      images.dockerArchive,
      images.ociLayout,
      images.dirTransport,
    ]) {
      const pulled = await podman(['pull', '--quiet', ref]);
      expect(pulled.exitCode, `${ref}: ${pulled.stderr}`).toBe(0);
      expect(pulled.stdout.trim(), ref).toBe(expected);
    }
    // podman names an `oci:` pull after its path; drop that extra tag again.
    await untag(`localhost${stripTransport(images.ociLayout)}`);
    expect(await imageId(images.busybox)).toBe(expected);
  });

  it('is idempotent and fast when cached, also from several processes at once', async () => {
    const before = await imageId(images.busybox);
    const runs = await Promise.all(
      [1, 2, 3].map(() =>
        execa(process.execPath, [tsxCli, cliPath, 'images'], {
          stdin: 'ignore',
        }),
      ),
    );
    for (const run of runs) expect(JSON.parse(run.stdout)).toEqual(images);
    expect(await ensureTestImages()).toEqual(images);
    expect(await imageId(images.busybox)).toBe(before);
  });
});

describe.skipIf(!hasPodman)('loopback registry (needs podman and docker-registry)', () => {
  let registry: LoopbackRegistry;
  const pulledRefs: string[] = [];

  beforeAll(async () => {
    registry = await startLoopbackRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    for (const ref of pulledRefs) await untag(ref);
  });

  it('serves the pushed busybox image to podman over plain HTTP via podmanEnv', async () => {
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const pulled = await podman(['pull', '--quiet', registry.busyboxRef], registry.podmanEnv);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    pulledRefs.push(registry.busyboxRef);
    expect(pulled.stdout.trim()).toBe(await imageId((await ensureTestImages()).busybox));
  });

  it('needs podmanEnv: without it podman insists on HTTPS', async () => {
    const pulled = await podman(['pull', '--quiet', registry.busyboxRef]);
    expect(pulled.exitCode).not.toBe(0);
    expect(pulled.stderr).toMatch(/HTTP response to HTTPS client|http: server gave HTTP/);
  });

  it('stops: the port closes and a second stop is harmless', async () => {
    const other = await startLoopbackRegistry();
    expect((await fetch(`http://${other.host}/v2/`)).ok).toBe(true);
    await other.stop();
    await other.stop();
    await expect(fetch(`http://${other.host}/v2/`)).rejects.toThrow();
  });
});

describe.skipIf(!hasPodman || !isRoot)('the unprivileged test user (needs root and podman)', () => {
  let user: TestUser;

  beforeAll(async () => {
    user = await ensureTestUser();
  });

  it('exists once, with subordinate ids, and is stable across calls', async () => {
    expect(user.name).toBe('polythene-test');
    expect(user.uid).toBeGreaterThan(0);
    expect(await ensureTestUser()).toEqual(user);
    const subuid = (await execa('cat', ['/etc/subuid'])).stdout;
    expect(subuid.split('\n').filter((line) => line.startsWith(`${user.name}:`))).toHaveLength(1);
  });

  it('runs commands as the user with a clean environment', async () => {
    const id = await runAsTestUser(['id', '-u']);
    expect(id.stdout).toBe(String(user.uid));
    const env = await runAsTestUser(['env'], { env: { EXTRA: 'yes' } });
    const vars = Object.fromEntries(env.stdout.split('\n').map((line) => line.split(/=(.*)/s, 2)));
    expect(vars).toMatchObject({ ...testUserEnv(user), EXTRA: 'yes' });
    expect(vars.VITEST).toBeUndefined();
  });

  it('reports exit codes, stdin and failures', async () => {
    expect((await runAsTestUser(['sh', '-c', 'exit 7'], { reject: false })).exitCode).toBe(7);
    expect((await runAsTestUser(['cat'], { input: 'piped' })).stdout).toBe('piped');
    await expect(runAsTestUser(['sh', '-c', 'echo broken >&2; exit 3'])).rejects.toThrow(
      /exit 3.*broken/,
    );
    const slow = await runAsTestUser(['sleep', '30'], {
      timeoutMs: 300,
      reject: false,
    });
    expect(slow.exitCode).not.toBe(0);
  });

  it('builds the images in its rootless podman, with archives podman loads', async () => {
    const images = await ensureTestImagesAs(user);
    expect(images.ociArchive).toContain(`polythene-test-images-${user.uid}/`);
    for (const ref of [images.busybox, images.configured, images.noShell]) {
      expect(
        (
          await runAsTestUser(['podman', 'image', 'exists', ref], {
            reject: false,
          })
        ).exitCode,
        ref,
      ).toBe(0);
    }
    for (const ref of [images.ociArchive, images.dockerArchive]) {
      const pulled = await runAsTestUser(['podman', 'pull', '--quiet', ref], {
        reject: false,
      });
      expect(pulled.exitCode, `${ref}: ${pulled.stderr}`).toBe(0);
    }
  });

  it('pulls from a loopback registry started by root', async () => {
    await ensureTestImagesAs(user);
    const registry = await startLoopbackRegistry();
    try {
      const pulled = await runAsTestUser(['podman', 'pull', '--quiet', registry.busyboxRef], {
        env: { ...registry.podmanEnv },
        reject: false,
      });
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      await runAsTestUser(['podman', 'untag', registry.busyboxRef, registry.busyboxRef], {
        reject: false,
      });
    } finally {
      await registry.stop();
    }
  });

  it('starts its own loopback registry and pulls back from it', async () => {
    const smoke = await runAsTestUser([process.execPath, tsxCli, cliPath, 'registry-smoke']);
    expect(JSON.parse(smoke.stdout)).toMatchObject({
      busyboxRef: expect.stringMatching(/^127\.0\.0\.1:\d+\//),
    });
  });

  it('creates a busybox rootfs as non-root', async () => {
    const dir = `/tmp/polythene-rootfs-${randomBytes(4).toString('hex')}`;
    try {
      await runAsTestUser([process.execPath, tsxCli, cliPath, 'rootfs', dir]);
      const listing = await runAsTestUser([
        'sh',
        '-c',
        `stat -c '%U %a' ${dir}/tmp && readlink ${dir}/usr/bin/env`,
      ]);
      expect(listing.stdout).toBe(`${user.name} 1777\n/bin/busybox`);
    } finally {
      await execa('rm', ['-rf', dir]);
    }
  });
});

describe.skipIf(!hasPodman)('large benchmark image (needs podman)', () => {
  it('holds thousands of files and at least 100 MB, and is cached', async () => {
    const large = await ensureLargeImage();
    expect(large.fileCount).toBeGreaterThanOrEqual(4000);
    expect(large.sizeBytes).toBeGreaterThanOrEqual(100 * 1024 * 1024);
    expect((await podman(['image', 'exists', large.ref])).exitCode).toBe(0);
    expect(await ensureLargeImage()).toEqual(large);
  });
});
