import { createHash } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { OciRuntimeConfig } from './image-config-changes.ts';
import { startTreeTar } from './rootfs-tar.ts';
import { createFileHeader, createFileMember, paddingFor, TAR_END } from './tar-blocks.ts';

/** The archive formats `commit --archive` writes. */
export type ImageArchiveFormat = 'oci-archive' | 'docker-archive';

/** What {@link writeImageArchive} needs. */
export interface ImageArchiveOptions {
  /** The tree to write as the image's one layer. */
  readonly rootfs: string;
  /** The archive file; written beside it, then renamed into place. */
  readonly path: string;
  readonly format: ImageArchiveFormat;
  /** The reference the archive names the image by (`localhost/name:tag`). */
  readonly reference: string;
  /** The image's runtime config. */
  readonly config: OciRuntimeConfig;
  /** `amd64`, `arm64`, … */
  readonly architecture: string;
}

const digestPlaceholder = '0'.repeat(64);

/**
 * Writes an image archive of one uncompressed layer without podman or its storage, in one
 * pass over the tree: the layer member's header is written with a placeholder name and size,
 * the tree streams behind it through a digest, and the header is rewritten once both are
 * known. Then the config, manifest and index (OCI) or manifest.json (docker) follow. Returns
 * the image id (the config's digest, as podman names images).
 */
export async function writeImageArchive(options: ImageArchiveOptions): Promise<string> {
  const temporary = join(dirname(options.path), `.${basename(options.path)}.tmp-${process.pid}`);
  const file = await open(temporary, 'wx+', 0o600);
  let isDone = false;
  try {
    const layerName = (digest: string) =>
      options.format === 'oci-archive' ? `blobs/sha256/${digest}` : `${digest}/layer.tar`;
    const now = Date.now() / 1000;
    let position = 0;
    const append = async (buffer: Buffer) => {
      await file.write(buffer, 0, buffer.length, position);
      position += buffer.length;
    };
    // Written at the descriptor's own offset (no position), which tar then goes on from.
    const placeholder = createFileHeader(layerName(digestPlaceholder), 0, now);
    await file.write(placeholder);
    position += placeholder.length;
    const layer = await streamTreeInto(file, position, options.rootfs);
    position += layer.sizeBytes;
    await append(paddingFor(layer.sizeBytes));
    const header = createFileHeader(layerName(layer.digest), layer.sizeBytes, now);
    await file.write(header, 0, header.length, 0);

    const created = new Date().toISOString();
    const configBlob = json({
      created,
      architecture: options.architecture,
      os: 'linux',
      config: options.config,
      rootfs: { type: 'layers', diff_ids: [`sha256:${layer.digest}`] },
      history: [{ created, created_by: 'polythene commit' }],
    });
    const configDigest = sha256(configBlob);
    if (options.format === 'oci-archive') {
      const manifest = json({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${configDigest}`,
          size: configBlob.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: `sha256:${layer.digest}`,
            size: layer.sizeBytes,
          },
        ],
      });
      const manifestDigest = sha256(manifest);
      const index = json({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${manifestDigest}`,
            size: manifest.length,
            annotations: { 'org.opencontainers.image.ref.name': options.reference },
          },
        ],
      });
      await append(createFileMember(`blobs/sha256/${configDigest}`, configBlob, now));
      await append(createFileMember(`blobs/sha256/${manifestDigest}`, manifest, now));
      await append(createFileMember('index.json', index, now));
      await append(createFileMember('oci-layout', json({ imageLayoutVersion: '1.0.0' }), now));
    } else {
      const manifest = json([
        {
          Config: `${configDigest}.json`,
          RepoTags: [options.reference],
          Layers: [layerName(layer.digest)],
        },
      ]);
      await append(createFileMember(`${configDigest}.json`, configBlob, now));
      await append(createFileMember('manifest.json', manifest, now));
    }
    await append(TAR_END);
    await file.close();
    await rename(temporary, options.path);
    isDone = true;
    return configDigest;
  } finally {
    if (!isDone) {
      await file.close().catch(() => undefined);
      await unlink(temporary).catch(() => undefined);
    }
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * GNU tar of `rootfs` (see {@link startTreeTar}) written straight into
 * `file` at its current offset, `start`: no pipe through Node, which halves the time. The
 * digest chases tar through the file as it grows (bytes below the size tar has written are
 * complete), so hashing overlaps the writing. Returns the layer's digest and size.
 */
async function streamTreeInto(
  file: FileHandle,
  start: number,
  rootfs: string,
): Promise<{ digest: string; sizeBytes: number }> {
  // Sorted, pax, xattrs as pull keeps them: one tree always gives the same layer digest.
  const tar = startTreeTar(rootfs, { outputFd: file.fd });
  let hasEnded = false;
  const closed = tar.done.finally(() => {
    hasEnded = true;
  });
  closed.catch(() => undefined);
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  let sizeBytes = 0;
  for (;;) {
    const wasEnded = hasEnded;
    const { bytesRead } = await file.read(buffer, 0, buffer.length, start + sizeBytes);
    if (bytesRead > 0) {
      hash.update(buffer.subarray(0, bytesRead));
      sizeBytes += bytesRead;
    } else if (wasEnded) {
      break;
    } else {
      // Caught up with tar: wait for more, or for its end.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5))]);
    }
  }
  // tar's failure, if it failed, as its own error.
  await closed;
  return { digest: hash.digest('hex'), sizeBytes };
}
