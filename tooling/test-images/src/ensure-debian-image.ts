import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { resolveCacheDir } from './cache-dir.ts';
import { stampLabel } from './ensure-test-images.ts';
import type { DebianImage } from './fixture-types.ts';
import { readDebianMirror } from './read-debian-mirror.ts';
import { runPodman } from './run-podman.ts';
import { withFileLock } from './with-file-lock.ts';

/** Bump when the Debian image's recipe changes, so cached images are rebuilt. */
const debianRecipeVersion = 'debian-bookworm-minbase-v1';
const debianRef = 'localhost/polythene-test/debian:bookworm';
const suite = 'bookworm';

let pending: Promise<DebianImage> | undefined;

/**
 * Makes sure `localhost/polythene-test/debian:bookworm` exists in the current user's podman: a
 * `debootstrap --variant=minbase bookworm` tree from the host's Debian mirror (see
 * {@link readDebianMirror}), archived with numeric owners, modes and `security.capability`
 * xattrs, and imported with `podman import`. The archive is kept in the cache dir
 * (`debian-bookworm.tar`) so other users' podman can import the same bytes
 * ({@link ensureDebianImageAs}). Building needs root and the mirror (a few minutes); the cached
 * path costs one `podman image inspect`. Concurrency-safe (a file lock in the cache dir).
 */
export function ensureDebianImage(): Promise<DebianImage> {
  pending ??= buildDebianImage().finally(() => {
    pending = undefined;
  });
  return pending;
}

async function buildDebianImage(): Promise<DebianImage> {
  const cacheDir = await resolveCacheDir();
  const tarPath = join(cacheDir, 'debian-bookworm.tar');
  return withFileLock(join(cacheDir, 'debian.lock'), async () => {
    if ((await readStamp(debianRef)) === debianRecipeVersion && (await hasTarball(tarPath))) {
      return { ref: debianRef, tarPath };
    }
    if (!(await hasTarball(tarPath))) await buildTarball(cacheDir, tarPath);
    await importTarball(tarPath);
    return { ref: debianRef, tarPath };
  });
}

/**
 * Imports the root-built Debian archive (see {@link ensureDebianImage}) into `runAs`'s
 * rootless podman by streaming it to `runuser -u USER -- podman import - REF`, unless that
 * user already has the current image. Root only. Returns the reference.
 */
export async function ensureDebianImageAs(
  userName: string,
  env: Record<string, string>,
): Promise<string> {
  const image = await ensureDebianImage();
  const inspect = await execa(
    'runuser',
    [
      '-u',
      userName,
      '--',
      'podman',
      'image',
      'inspect',
      '--format',
      `{{index .Labels "${stampLabel}"}}`,
      debianRef,
    ],
    { env, extendEnv: false, reject: false, stdin: 'ignore', cwd: '/' },
  );
  if (inspect.exitCode === 0 && inspect.stdout.trim() === debianRecipeVersion) return debianRef;
  await execa(
    'runuser',
    [
      '-u',
      userName,
      '--',
      'podman',
      'import',
      '--quiet',
      '--change',
      `LABEL ${stampLabel}=${debianRecipeVersion}`,
      '-',
      debianRef,
    ],
    { env, extendEnv: false, inputFile: image.tarPath, cwd: '/' },
  );
  return debianRef;
}

async function buildTarball(cacheDir: string, tarPath: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(`building ${debianRef} needs root (debootstrap); run the tests as root once`);
  }
  const mirror = await readDebianMirror();
  const workDir = await mkdtemp(join(cacheDir, 'build-debian-'));
  try {
    const rootfs = join(workDir, 'rootfs');
    const result = await execa('debootstrap', ['--variant=minbase', suite, rootfs, mirror], {
      reject: false,
      stdin: 'ignore',
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.failed) {
      const reason =
        result.code === 'ENOENT'
          ? 'debootstrap is not installed (apt-get install debootstrap)'
          : result.stderr.trim().split('\n').slice(-3).join(' | ') || result.stdout.slice(-300);
      throw new Error(`debootstrap of ${suite} from ${mirror} failed: ${reason}`, {
        cause: result,
      });
    }
    // Nothing of the build host belongs in the image: apt's cached archives are large and the
    // build host's resolv.conf/hostname are the host's.
    await execa('sh', [
      '-c',
      'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* && : > "$1"/etc/resolv.conf && echo polythene > "$1"/etc/hostname',
      'sh',
      rootfs,
    ]);
    const partial = `${tarPath}.partial`;
    await execa('tar', [
      '--create',
      '--file',
      partial,
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=security.capability',
      '--directory',
      rootfs,
      '.',
    ]);
    await rename(partial, tarPath);
    await writeFile(`${tarPath}.stamp`, `${debianRecipeVersion}\n`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function importTarball(tarPath: string): Promise<void> {
  await runPodman([
    'import',
    '--quiet',
    '--change',
    `LABEL ${stampLabel}=${debianRecipeVersion}`,
    '--change',
    'CMD ["/bin/bash"]',
    tarPath,
    debianRef,
  ]);
}

async function readStamp(ref: string): Promise<string | undefined> {
  try {
    return await runPodman([
      'image',
      'inspect',
      '--format',
      `{{index .Labels "${stampLabel}"}}`,
      ref,
    ]);
  } catch {
    return undefined;
  }
}

// The archive is current when its stamp file names this recipe (written after the archive).
async function hasTarball(path: string): Promise<boolean> {
  const stamp = await readFile(`${path}.stamp`, 'utf8').catch(() => '');
  return stamp.trim() === debianRecipeVersion;
}
