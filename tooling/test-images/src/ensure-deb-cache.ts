import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { resolveCacheDir } from './cache-dir.ts';
import { ensureDebianImage } from './ensure-debian-image.ts';
import type { DebCache } from './fixture-types.ts';
import { withFileLock } from './with-file-lock.ts';

/** Bump when the cache's layout or closure rule changes. */
const debCacheVersion = 'debs-v2';

/**
 * Downloads `packages` and the part of their `Depends`/`Pre-Depends` closure that the Debian
 * test image ({@link ensureDebianImage}) lacks into a directory of root's cache (never the repo;
 * the directory and files are world-readable), and returns it. APT itself resolves the closure:
 * the host's `apt-get install --download-only --no-install-recommends` run against the image's
 * `/var/lib/dpkg/status`, so alternatives and virtual packages resolve as they would in the
 * image and `apt-get install ./*.deb` there needs nothing else. Cached by the package list: the
 * second call costs one file read. Concurrency-safe (a file lock). Root only; needs the host's
 * APT lists (`apt-get update`) and its mirror.
 */
export async function ensureDebCache(packages: readonly string[]): Promise<DebCache> {
  if (packages.length === 0) throw new Error('ensureDebCache needs at least one package name');
  if (process.getuid?.() !== 0) throw new Error('ensureDebCache needs root (apt-get)');
  const image = await ensureDebianImage();
  const key = createHash('sha256')
    .update(`${debCacheVersion}\n${[...packages].sort().join('\n')}`)
    .digest('hex')
    .slice(0, 16);
  const cacheDir = await resolveCacheDir();
  const dir = join(cacheDir, `debs-${key}`);
  return withFileLock(join(cacheDir, 'debs.lock'), async () => {
    const recorded = await readFile(join(dir, 'files.json'), 'utf8').catch(() => undefined);
    if (recorded !== undefined) return { dir, files: JSON.parse(recorded) as string[] };

    const workDir = await mkdtemp(join(cacheDir, 'build-debs-'));
    try {
      const statusPath = join(workDir, 'image-status');
      await execa(
        'tar',
        ['--extract', '--to-stdout', '--file', image.tarPath, './var/lib/dpkg/status'],
        {
          stdout: { file: statusPath },
        },
      );
      await mkdir(join(workDir, 'partial'));
      const result = await execa(
        'apt-get',
        [
          'install',
          '--download-only',
          '--no-install-recommends',
          '--yes',
          '--quiet',
          '-o',
          `Dir::State::status=${statusPath}`,
          '-o',
          `Dir::Cache::archives=${workDir}`,
          '-o',
          'Debug::NoLocking=true',
          ...packages,
        ],
        { reject: false, stdin: 'ignore', env: { DEBIAN_FRONTEND: 'noninteractive' } },
      );
      if (result.failed) {
        throw new Error(
          `apt-get download of ${packages.join(' ')} failed: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}; run apt-get update`,
          { cause: result },
        );
      }
      await rm(statusPath);
      await rm(join(workDir, 'partial'), { recursive: true, force: true });
      await rm(join(workDir, 'lock'), { force: true });
      const files = (await readdir(workDir)).filter((name) => name.endsWith('.deb')).sort();
      await writeFile(join(workDir, 'files.json'), `${JSON.stringify(files)}\n`);
      // apt-get download writes 0600 files as root; other users' tests read them.
      for (const name of files) await chmod(join(workDir, name), 0o644);
      await chmod(workDir, 0o755);
      await rm(dir, { recursive: true, force: true });
      await rename(workDir, dir);
      return { dir, files };
    } catch (error) {
      await rm(workDir, { recursive: true, force: true });
      throw error;
    }
  });
}
