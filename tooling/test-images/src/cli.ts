// Builds the fixtures from the shell: `tsx tooling/test-images/src/cli.ts [images|large|user|registry-smoke]`.
// stdout carries only the JSON result; progress and errors go to stderr.
import { execa } from 'execa';
import { createBusyboxRootfs } from './create-busybox-rootfs.ts';
import { createLargeRootfs } from './create-large-rootfs.ts';

import { ensureDebianImage } from './ensure-debian-image.ts';
import { ensureLargeImage } from './ensure-large-image.ts';
import { ensureTestImages } from './ensure-test-images.ts';
import { ensureTestImagesAs } from './ensure-test-images-as.ts';
import { ensureTestUser } from './ensure-test-user.ts';
import { startLoopbackRegistry } from './start-loopback-registry.ts';

const usage = `usage: tsx tooling/test-images/src/cli.ts [command]

commands:
  images          build the test images for the current user's podman (default)
  large           build the large benchmark image
  debian          (root) build localhost/polythene-test/debian:bookworm with debootstrap
  debs PKG...     download PKG and its Depends closure into the deb cache
  user            (root) create the test user and build its images
  registry-smoke  start a loopback registry, push busybox, pull it back, stop
  rootfs DIR      write the busybox rootfs as a plain directory (no podman)
  large-rootfs DIR  write the large benchmark rootfs as a plain directory (no podman)`;

async function runCommand(command: string, dir: string | undefined): Promise<unknown> {
  switch (command) {
    case 'rootfs':
      await createBusyboxRootfs(requireDir(dir));
      return { rootfs: dir };
    case 'large-rootfs':
      return { rootfs: dir, ...(await createLargeRootfs(requireDir(dir))) };
    case 'images':
      return ensureTestImages();
    case 'large':
      return ensureLargeImage();
    case 'debian':
      return ensureDebianImage();
    case 'debs':
      return (await import('./ensure-deb-cache.ts')).ensureDebCache(process.argv.slice(3));
    case 'user': {
      const user = await ensureTestUser();
      return { user, images: await ensureTestImagesAs(user) };
    }
    case 'registry-smoke': {
      const registry = await startLoopbackRegistry();
      try {
        const pulled = await execa('podman', ['pull', '--quiet', registry.busyboxRef], {
          env: registry.podmanEnv,
          stdin: 'ignore',
        });
        // `podman untag IMAGE` alone would strip every name of the image: name the one to drop.
        await execa('podman', ['untag', registry.busyboxRef, registry.busyboxRef], {
          stdin: 'ignore',
          reject: false,
        });
        return {
          host: registry.host,
          busyboxRef: registry.busyboxRef,
          pulledImageId: pulled.stdout.trim(),
        };
      } finally {
        await registry.stop();
      }
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}\n${usage}`);
  }
}

function requireDir(dir: string | undefined): string {
  if (!dir) throw new Error(`this command needs a target directory\n${usage}`);
  return dir;
}

const command = process.argv[2] ?? 'images';
if (command === '--help' || command === '-h') {
  process.stdout.write(`${usage}\n`);
} else {
  try {
    process.stdout.write(`${JSON.stringify(await runCommand(command, process.argv[3]))}\n`);
  } catch (error) {
    process.stderr.write(
      `test-images: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
