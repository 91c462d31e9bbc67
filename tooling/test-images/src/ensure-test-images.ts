import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import { resolveCacheDir } from './cache-dir.ts';
import { createBusyboxRootfs, readHostBusybox } from './create-busybox-rootfs.ts';
import { createHelloBinary } from './create-hello-binary.ts';
import { createRootfsTarball } from './create-rootfs-tarball.ts';
import type { TestImages } from './fixture-types.ts';
import { hasPodmanImage, runPodman } from './run-podman.ts';
import { withFileLock } from './with-file-lock.ts';

/** Bump when what the images contain changes, so cached images are rebuilt. */
const recipeVersion = 'test-images-v1';
/** Label carrying the content stamp, read back to decide whether an image is current. */
export const stampLabel = 'io.polythene.test-images.stamp';

const busyboxRef = 'localhost/polythene-test/busybox:latest';
const configuredRef = 'localhost/polythene-test/configured:latest';
const noShellRef = 'localhost/polythene-test/no-shell:latest';

interface ArchiveStamp {
  readonly stamp: string;
  readonly imageId: string;
}

let pending: Promise<TestImages> | undefined;

/**
 * Makes sure the test images exist in the CURRENT user's podman (root or rootless) and returns
 * their references: `busybox`, `configured`, `noShell` imported with `podman import`, and the
 * busybox image saved as `oci-archive:`, `docker-archive:`, `oci:` and `dir:` under the per-user
 * cache dir (see {@link TestImages}). Idempotent and safe to call from several processes at
 * once (a file lock in the cache dir); when everything is current it costs one
 * `podman image inspect`.
 */
export function ensureTestImages(): Promise<TestImages> {
  pending ??= buildTestImages().finally(() => {
    pending = undefined;
  });
  return pending;
}

async function buildTestImages(): Promise<TestImages> {
  const cacheDir = await resolveCacheDir();
  const images = describeImages(cacheDir);
  return withFileLock(join(cacheDir, 'images.lock'), async () => {
    const stamp = await computeStamp();
    if (!(await areImagesCurrent(stamp))) {
      const previousIds = await readImageIds([busyboxRef, configuredRef, noShellRef]);
      await importImages(cacheDir, stamp);
      const currentIds = new Set(await readImageIds([busyboxRef, configuredRef, noShellRef]));
      await removeImages(previousIds.filter((id) => !currentIds.has(id)));
    }
    await ensureArchives(cacheDir, stamp);
    return images;
  });
}

function describeImages(cacheDir: string): TestImages {
  return {
    busybox: busyboxRef,
    ociArchive: `oci-archive:${join(cacheDir, 'busybox.oci.tar')}`,
    dockerArchive: `docker-archive:${join(cacheDir, 'busybox.docker.tar')}`,
    ociLayout: `oci:${join(cacheDir, 'busybox-oci-layout')}:latest`,
    dirTransport: `dir:${join(cacheDir, 'busybox-dir')}`,
    configured: configuredRef,
    noShell: noShellRef,
  };
}

async function computeStamp(): Promise<string> {
  const busybox = await readHostBusybox();
  return createHash('sha256')
    .update(recipeVersion)
    .update(arch())
    .update(busybox)
    .digest('hex')
    .slice(0, 32);
}

async function areImagesCurrent(stamp: string): Promise<boolean> {
  // On a fresh machine the images are simply not there yet: say so plainly, rather than
  // print podman's "image not known", which reads as an error.
  for (const ref of [busyboxRef, configuredRef, noShellRef]) {
    if (!(await hasPodmanImage(ref))) {
      process.stderr.write('test-images: building the local test images (first run)\n');
      return false;
    }
  }
  try {
    const labels = await runPodman([
      'image',
      'inspect',
      '--format',
      `{{index .Labels "${stampLabel}"}}`,
      busyboxRef,
      configuredRef,
      noShellRef,
    ]);
    const lines = labels.split('\n');
    if (lines.length === 3 && lines.every((line) => line === stamp)) return true;
    process.stderr.write(
      `test-images: rebuilding, stamps ${lines.join(',')} differ from ${stamp}\n`,
    );
    return false;
  } catch (error) {
    process.stderr.write(
      `test-images: rebuilding, their labels are unreadable: ${error instanceof Error ? error.message : error}\n`,
    );
    return false;
  }
}

async function readImageIds(refs: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const ref of refs) {
    try {
      ids.push((await runPodman(['image', 'inspect', '--format', '{{.Id}}', ref])).trim());
    } catch {
      // Not there: nothing to clean up.
    }
  }
  return ids;
}

// Outdated builds would otherwise pile up as <none> images. Best effort: an image still used
// by a container or another tag stays.
async function removeImages(ids: string[]): Promise<void> {
  for (const id of ids) await runPodman(['rmi', id]).catch(() => undefined);
}

async function importImages(cacheDir: string, stamp: string): Promise<void> {
  const workDir = await mkdtemp(join(cacheDir, 'build-'));
  try {
    const label = `LABEL ${stampLabel}=${stamp}`;

    const busyboxDir = join(workDir, 'busybox');
    await createBusyboxRootfs(busyboxDir);
    await createRootfsTarball(busyboxDir, join(workDir, 'busybox.tar'), {
      appOwnedDirs: ['home/app'],
    });
    await runPodman([
      'import',
      '--quiet',
      '--change',
      label,
      join(workDir, 'busybox.tar'),
      busyboxRef,
    ]);

    const configuredDir = join(workDir, 'configured');
    await createBusyboxRootfs(configuredDir);
    await mkdir(join(configuredDir, 'srv/app'), { recursive: true });
    await createRootfsTarball(configuredDir, join(workDir, 'configured.tar'), {
      appOwnedDirs: ['home/app', 'srv/app'],
    });
    await runPodman([
      'import',
      '--quiet',
      '--change',
      label,
      '--change',
      'ENV GREETING=hello',
      '--change',
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      '--change',
      'WORKDIR /srv/app',
      '--change',
      'USER 1000:1000',
      '--change',
      'ENTRYPOINT ["/bin/sh","-c"]',
      '--change',
      'CMD ["echo configured"]',
      join(workDir, 'configured.tar'),
      configuredRef,
    ]);

    const noShellDir = join(workDir, 'no-shell');
    await mkdir(noShellDir);
    await writeFile(join(noShellDir, 'hello'), createHelloBinary(), {
      mode: 0o755,
    });
    await createRootfsTarball(noShellDir, join(workDir, 'no-shell.tar'));
    await runPodman([
      'import',
      '--quiet',
      '--change',
      label,
      '--change',
      'CMD ["/hello"]',
      join(workDir, 'no-shell.tar'),
      noShellRef,
    ]);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function ensureArchives(cacheDir: string, stamp: string): Promise<void> {
  const imageId = (await runPodman(['image', 'inspect', '--format', '{{.Id}}', busyboxRef])).trim();
  const stampPath = join(cacheDir, 'archives.json');
  const targets = [
    { format: 'oci-archive', path: join(cacheDir, 'busybox.oci.tar') },
    { format: 'docker-archive', path: join(cacheDir, 'busybox.docker.tar') },
    { format: 'oci-dir', path: join(cacheDir, 'busybox-oci-layout') },
    { format: 'docker-dir', path: join(cacheDir, 'busybox-dir') },
  ];
  const recorded = await readArchiveStamp(stampPath);
  const allExist = (await Promise.all(targets.map((target) => exists(target.path)))).every(Boolean);
  if (recorded?.stamp === stamp && recorded.imageId === imageId && allExist) return;

  await rm(stampPath, { force: true });
  for (const target of targets) {
    // Save beside the target and rename, so a reader never sees half an archive.
    const temporary = `${target.path}.tmp-${process.pid}`;
    await rm(temporary, { recursive: true, force: true });
    await runPodman([
      'save',
      '--quiet',
      '--format',
      target.format,
      '--output',
      temporary,
      busyboxRef,
    ]);
    if (target.format === 'oci-dir') await nameOciLayoutTag(temporary, 'latest');
    await rm(target.path, { recursive: true, force: true });
    await rename(temporary, target.path);
  }
  const record: ArchiveStamp = { stamp, imageId };
  await writeFile(stampPath, `${JSON.stringify(record)}\n`);
}

// `podman save --format oci-dir` records the full image name as the layout's ref name, but
// `oci:DIR:TAG` looks the TAG up verbatim; rename it so `oci:…/busybox-oci-layout:latest` works.
async function nameOciLayoutTag(layoutDir: string, tag: string): Promise<void> {
  const indexPath = join(layoutDir, 'index.json');
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as {
    manifests?: { annotations?: Record<string, string> }[];
  };
  for (const manifest of index.manifests ?? []) {
    manifest.annotations = {
      ...manifest.annotations,
      'org.opencontainers.image.ref.name': tag,
    };
  }
  await writeFile(indexPath, JSON.stringify(index));
}

async function readArchiveStamp(path: string): Promise<ArchiveStamp | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ArchiveStamp;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
