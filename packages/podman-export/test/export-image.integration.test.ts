import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hasErrorCode } from '@polythene/errors';
import {
  ensureLargeImage,
  ensureTestImages,
  type LoopbackRegistry,
  startLoopbackRegistry,
  type TestImages,
} from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ExportImageOptions,
  type ExportProgress,
  exportImage,
  removeLeftoverContainers,
} from '../src/index.ts';
import {
  listLabelledContainers,
  listOwnChildren,
  listOwnContainers,
} from './helpers/podman-state.ts';

const hasPodman = spawnSync('podman', ['--version']).status === 0;
const suffix = Math.random().toString(36).slice(2, 8);
let images: TestImages;
let registry: LoopbackRegistry;
const targets: string[] = [];

async function newTarget(): Promise<string> {
  const dir = await mkdtemp('/var/tmp/pe-export-test-');
  targets.push(dir);
  return dir;
}

async function failureOf(
  options: Omit<ExportImageOptions, 'targetDir'>,
): Promise<Error & { code?: string }> {
  const error = await exportImage({ ...options, targetDir: await newTarget() }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error & { code?: string };
}

describe.skipIf(!hasPodman)('exportImage with real podman', () => {
  beforeAll(async () => {
    images = await ensureTestImages();
    registry = await startLoopbackRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
    for (const dir of targets) {
      await rm(dir, { recursive: true, force: true });
    }
    await execa(
      'podman',
      ['rmi', '--force', '--ignore', `127.0.0.1:1/pe-${suffix}/busybox:latest`],
      { reject: false },
    );
  });

  afterEach(async () => {
    // The guarantee every test shares: nothing of ours is left in podman or running.
    expect(await listOwnContainers()).toEqual([]);
    expect(await listOwnChildren()).toEqual([]);
  });

  const transports: Array<[string, () => string, Record<string, string>?]> = [
    ['a localhost/ image in podman', () => images.busybox],
    ['containers-storage:', () => `containers-storage:${images.busybox}`],
    ['oci-archive:', () => images.ociArchive],
    ['docker-archive:', () => images.dockerArchive],
    ['oci:', () => images.ociLayout],
    ['dir:', () => images.dirTransport],
  ];
  for (const method of ['export', 'mount'] as const) {
    it.each(transports)(`exports %s (method ${method})`, async (_label, ref) => {
      const target = await newTarget();
      const events: ExportProgress[] = [];
      const result = await exportImage({
        ref: ref(),
        targetDir: target,
        method,
        onProgress: (event) => events.push(event),
      });
      expect(result.method).toBe(method);
      expect(result.imageId).toMatch(/^[0-9a-f]{64}$/);
      expect(result.architecture).toBeTruthy();
      expect(result.os).toBe('linux');
      expect(result.filesExtracted).toBeGreaterThan(3);
      expect(result.bytesExported).toBeGreaterThan(500_000);
      expect((await stat(join(target, 'bin/busybox'))).mode & 0o111).not.toBe(0);
      expect(execFileSync(join(target, 'bin/busybox'), ['echo', 'alive']).toString()).toBe(
        'alive\n',
      );
      expect(events.map((event) => event.phase)).toEqual(
        expect.arrayContaining(['pull', 'export', 'extract']),
      );
      expect(events.at(-1)?.phase).toBe('cleanup');
    });
  }

  it('removes a nameless image an archive brought, and keeps one that was there', async () => {
    const work = await newTarget();
    execFileSync('sh', [
      '-c',
      `echo ${suffix} > "$1/marker" && tar -C "$1" -cf "$1/tree.tar" marker`,
      'sh',
      work,
    ]);
    const imageId = execFileSync('podman', ['import', '--quiet', join(work, 'tree.tar')])
      .toString()
      .trim()
      .replace(/^sha256:/, '');
    const archive = join(work, 'nameless.oci.tar');
    // Saved by id, the archive carries no name; the image then leaves podman's storage.
    execFileSync('podman', ['save', '--quiet', '--format', 'oci-archive', '-o', archive, imageId]);
    execFileSync('podman', ['rmi', imageId]);
    const target = await newTarget();
    const result = await exportImage({ ref: `oci-archive:${archive}`, targetDir: target });
    expect(result.imageId).toBe(imageId);
    expect(await readFile(join(target, 'marker'), 'utf8')).toBe(`${suffix}\n`);
    expect(spawnSync('podman', ['image', 'exists', imageId]).status).toBe(1);
    // The busybox archives hold an image already in storage under its name: it stays.
    await exportImage({ ref: images.ociArchive, targetDir: await newTarget() });
    expect(spawnSync('podman', ['image', 'exists', images.busybox]).status).toBe(0);
  });

  it('pulls from a loopback registry, also as docker://', async () => {
    for (const ref of [registry.busyboxRef, `docker://${registry.busyboxRef}`]) {
      const target = await newTarget();
      const result = await exportImage({
        ref,
        targetDir: target,
        pullPolicy: 'always',
        env: { ...process.env, ...registry.podmanEnv },
      });
      expect(result.digest).toMatch(/^sha256:/);
      expect((await readdir(join(target, 'bin'))).length).toBeGreaterThan(1);
    }
  });

  it('records the image config', async () => {
    const result = await exportImage({ ref: images.configured, targetDir: await newTarget() });
    expect(result.config).toEqual({
      env: expect.arrayContaining(['GREETING=hello', 'PATH=/usr/local/bin:/usr/bin:/bin']),
      workingDir: '/srv/app',
      user: '1000:1000',
      entrypoint: ['/bin/sh', '-c'],
      cmd: ['echo configured'],
    });
    expect(result.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it.each(['export', 'mount'] as const)(
    'exports an image with no command and no shell (%s route)',
    async (method) => {
      // A one-file archive: its producer exits before the extractor attaches, which once lost
      // the whole stream on the mount route.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const target = await newTarget();
        const result = await exportImage({ ref: images.noShell, targetDir: target, method });
        expect(result.method).toBe(method);
        expect(await readdir(target)).toEqual(['hello']);
      }
    },
  );

  describe('pull policies', () => {
    const deadRef = `127.0.0.1:1/pe-${suffix}/busybox:latest`;
    beforeAll(async () => {
      await execa('podman', ['tag', images.busybox, deadRef]);
    });

    it('missing: uses the local copy without contacting the (dead) registry', async () => {
      const result = await exportImage({
        ref: deadRef,
        targetDir: await newTarget(),
        pullPolicy: 'missing',
      });
      expect(result.filesExtracted).toBeGreaterThan(3);
    });

    it('never: uses the local copy; fails cleanly when the image is not there', async () => {
      await exportImage({ ref: deadRef, targetDir: await newTarget(), pullPolicy: 'never' });
      const error = await failureOf({
        ref: `localhost/pe-missing-${suffix}:latest`,
        pullPolicy: 'never',
      });
      expect(hasErrorCode(error, 'POLYTHENE_PULL_FAILED')).toBe(true);
      // A localhost/ name no registry serves: said so, with how to put it there.
      expect(error.message).toMatch(/is not in local storage and no registry serves localhost\//);
      const remote = await failureOf({
        ref: `registry.invalid/pe-missing-${suffix}:latest`,
        pullPolicy: 'never',
      });
      expect(hasErrorCode(remote, 'POLYTHENE_PULL_FAILED')).toBe(true);
      expect(remote.message).toMatch(/not in podman's storage and the pull policy is never/);
    });

    it("always: contacts the registry, so a dead port is PULL_FAILED with podman's reason", async () => {
      const error = await failureOf({ ref: deadRef, pullPolicy: 'always' });
      expect(hasErrorCode(error, 'POLYTHENE_PULL_FAILED')).toBe(true);
      expect(error.message).toMatch(
        /^podman pull 127\.0\.0\.1:1\/.* failed: .*(connection refused|127\.0\.0\.1:1)/,
      );
      expect(error.message).not.toContain('\n');
    });

    it('refuses an unknown policy', async () => {
      const error = await failureOf({ ref: deadRef, pullPolicy: 'sometimes' as 'always' });
      expect(hasErrorCode(error, 'POLYTHENE_USAGE')).toBe(true);
    });
  });

  it('reports a missing image and a dead registry as PULL_FAILED in one line', async () => {
    const missing = await failureOf({
      ref: `${registry.host}/polythene-test/does-not-exist-${suffix}:latest`,
      env: { ...process.env, ...registry.podmanEnv },
    });
    expect(hasErrorCode(missing, 'POLYTHENE_PULL_FAILED')).toBe(true);
    expect(missing.message).not.toContain('\n');
    const dead = await failureOf({ ref: `127.0.0.1:1/nothing-${suffix}:latest` });
    expect(hasErrorCode(dead, 'POLYTHENE_PULL_FAILED')).toBe(true);
    expect(dead.message).toMatch(/connection refused/);
  });

  it('refuses a malformed reference before running podman', async () => {
    const error = await failureOf({ ref: '--storage-driver=vfs' });
    expect(hasErrorCode(error, 'POLYTHENE_INVALID_IMAGE_REF')).toBe(true);
  });

  it('reports a missing podman as POLYTHENE_PODMAN_MISSING naming the package', async () => {
    const error = await failureOf({
      ref: images.busybox,
      env: { ...process.env, PATH: '/nonexistent' },
    });
    expect(hasErrorCode(error, 'POLYTHENE_PODMAN_MISSING')).toBe(true);
    expect(error.message).toMatch(/Debian package podman/);
  });

  describe('interruption', () => {
    let largeRef: string;
    beforeAll(async () => {
      largeRef = (await ensureLargeImage()).ref;
    });

    for (const method of ['export', 'mount'] as const) {
      it(`aborting mid-extraction is INTERRUPTED and removes the container (method ${method})`, async () => {
        const controller = new AbortController();
        const commands: string[] = [];
        const error = await failureOf({
          ref: largeRef,
          method,
          abortSignal: controller.signal,
          log: (line) => commands.push(line),
          onProgress: (event) => {
            if (event.phase === 'extract' && event.files > 100) controller.abort();
          },
        });
        expect(hasErrorCode(error, 'POLYTHENE_INTERRUPTED')).toBe(true);
        // The container existed when the abort came; afterEach proves it is gone.
        if (method === 'export') {
          expect(commands.some((line) => line.startsWith('podman create'))).toBe(true);
          expect(commands.some((line) => line.startsWith('podman rm --force'))).toBe(true);
        } else {
          expect(commands.some((line) => line.startsWith('podman image umount'))).toBe(true);
        }
      });
    }

    it('a timeout is POLYTHENE_TIMEOUT and cleans up', async () => {
      const error = await failureOf({ ref: largeRef, method: 'export', timeoutMs: 400 });
      expect(hasErrorCode(error, 'POLYTHENE_TIMEOUT')).toBe(true);
      expect(error.message).toMatch(/took longer than 400 ms/);
    });

    it('an already aborted signal fails at once', async () => {
      const error = await failureOf({ ref: images.busybox, abortSignal: AbortSignal.abort() });
      expect(hasErrorCode(error, 'POLYTHENE_INTERRUPTED')).toBe(true);
    });
  });

  it('removeLeftoverContainers removes containers of dead owners only', async () => {
    const deadPid = spawnSync('true').pid;
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const create = async (pid: number, boot: string): Promise<string> =>
      (
        await execa('podman', [
          'create',
          '--label',
          `io.polythene.pull=leftover-${suffix}`,
          '--label',
          `io.polythene.owner-pid=${pid}`,
          '--label',
          `io.polythene.owner-boot=${boot}`,
          '--entrypoint=/x',
          images.busybox,
        ])
      ).stdout.trim();
    const dead = await create(deadPid, bootId);
    const otherBoot = await create(1, 'another-boot');
    const alive = await create(process.pid, bootId);
    try {
      const removed = await removeLeftoverContainers();
      expect(removed).toEqual(expect.arrayContaining([dead, otherBoot]));
      expect(removed).not.toContain(alive);
      const left = (await listLabelledContainers()).map((container) => container.Id);
      expect(left).toContain(alive);
      expect(left).not.toContain(dead);
    } finally {
      await execa('podman', ['rm', '--force', '--ignore', dead, otherBoot, alive]);
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    'a dynamically linked host binary runs from the rootfs (symlinks intact)',
    async () => {
      const tree = await newTarget();
      const ref = `localhost/pe-dynamic-${suffix}:latest`;
      const ls = '/usr/bin/ls';
      const libs = execFileSync('ldd', [ls])
        .toString()
        .split('\n')
        .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
        .filter((path): path is string => path !== undefined);
      const script = [
        'set -e',
        `cd ${tree}`,
        'mkdir -p usr/bin usr/lib/x86_64-linux-gnu usr/lib64',
        `cp ${ls} usr/bin/ls`,
        ...libs.map(
          (lib) =>
            `cp -L ${lib} usr/${lib.startsWith('/lib64/') ? 'lib64' : 'lib/x86_64-linux-gnu'}/`,
        ),
        'ln -s usr/bin bin',
        'ln -s usr/lib lib',
        // Absolute on purpose: it must survive extraction unchanged and resolve inside the root.
        'ln -s /usr/lib64 lib64',
        `tar -c . | podman import --quiet - ${ref} >/dev/null`,
      ].join('\n');
      execFileSync('sh', ['-c', script]);
      try {
        for (const method of ['export', 'mount'] as const) {
          const target = await newTarget();
          await exportImage({ ref, targetDir: target, method });
          expect(await readlink(join(target, 'lib64'))).toBe('/usr/lib64');
          expect(await readlink(join(target, 'bin'))).toBe('usr/bin');
          const listing = execFileSync('chroot', [target, '/bin/ls', '/']).toString();
          expect(listing.split('\n')).toEqual(expect.arrayContaining(['bin', 'lib64', 'usr']));
        }
      } finally {
        await execa('podman', ['rmi', '--force', ref], { reject: false });
      }
    },
  );
});
