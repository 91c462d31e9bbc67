import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The per-user directory holding archives, stamps and locks: `POLYTHENE_TEST_IMAGES_DIR`, else
 * `/var/tmp/polythene-test-images-<uid>`. Never inside the repo, which other users cannot write.
 *
 * Not `~/.cache`: podman 4.3 names an image pulled from `oci:PATH` after PATH, and a path
 * component such as `.cache` (leading dot) or one with capitals is not a valid image name, so
 * `podman pull oci:~/.cache/…` fails. Every component here is a valid name component.
 */
export async function resolveCacheDir(): Promise<string> {
  const override = process.env.POLYTHENE_TEST_IMAGES_DIR;
  const uid = process.getuid?.() ?? 0;
  const dir = override || join('/var/tmp', `polythene-test-images-${uid}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // /var/tmp is shared: refuse a directory another user planted for us.
  const info = await lstat(dir);
  if (!info.isDirectory() || info.uid !== uid) {
    throw new Error(
      `test image cache ${dir} is not a directory owned by uid ${uid}: remove it or set POLYTHENE_TEST_IMAGES_DIR`,
    );
  }
  return dir;
}
