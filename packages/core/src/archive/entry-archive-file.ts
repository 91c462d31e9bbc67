import { type FileHandle, open } from 'node:fs/promises';
import type { EntryMetadata } from '@polythene/store';
import { createDigestsMember, createEntryMember } from './entry-archive.ts';
import { startRootfsTar } from './rootfs-tar.ts';
import { dataBlockBytes, formatDigest, newHash, TAR_END } from './tar-blocks.ts';

const BLOCK_BYTES = 512;
// Never hashed while tar runs: its end-of-archive blocks and record padding (10 KiB records)
// sit in the last bytes, and where the members end is known only once tar has finished.
const HASH_LAG_BYTES = 64 * 1024;

/**
 * Writes the same archive as {@link generateEntryArchive} into a new file, faster: GNU tar
 * writes the tree's members straight into the file (no pipe through Node), the digest chases
 * it through the file while it grows, and once tar has finished the members' end is found by
 * walking their headers; the digests member then replaces tar's end-of-archive blocks. For an
 * uncompressed archive only (a compressor needs the stream).
 */
export async function writeEntryArchiveFile(
  metadata: EntryMetadata,
  rootfs: string,
  path: string,
): Promise<void> {
  const file = await open(path, 'wx+', 0o600);
  try {
    const entryMember = createEntryMember(metadata);
    // At the descriptor's own offset, which tar then goes on from.
    await file.write(entryMember);
    const base = entryMember.length;
    const tar = startRootfsTar(rootfs, file.fd);
    let hasEnded = false;
    const ended = tar.done.finally(() => {
      hasEnded = true;
    });
    ended.catch(() => undefined);
    const hash = newHash();
    const walker = new MemberWalker();
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    let hashed = 0;
    // Chase tar, HASH_LAG_BYTES behind what it has written.
    while (!hasEnded) {
      const { size } = await file.stat();
      const until = size - base - HASH_LAG_BYTES;
      if (until > hashed)
        hashed = await readRange(file, buffer, base, hashed, until, (chunk, at) => {
          walker.scan(chunk, at);
          hash.update(chunk);
        });
      else await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5))]);
    }
    await tar.done;
    // The rest: members up to the first all-zero header, then tar's end blocks, not hashed.
    const { size } = await file.stat();
    await readRange(file, buffer, base, hashed, size - base, (chunk, at) => {
      const before = walker.endAt;
      walker.scan(chunk, at);
      const end = walker.endAt ?? before;
      hash.update(end === undefined ? chunk : chunk.subarray(0, Math.max(0, end - at)));
    });
    const rootfsBytes = walker.endAt;
    if (rootfsBytes === undefined || rootfsBytes < hashed)
      throw new Error('tar ended without an end-of-archive marker');
    const tail = Buffer.concat([
      createDigestsMember(metadata, entryMember, {
        rootfsSha256: formatDigest(hash),
        rootfsBytes,
      }),
      TAR_END,
    ]);
    await file.write(tail, 0, tail.length, base + rootfsBytes);
    await file.truncate(base + rootfsBytes + tail.length);
  } finally {
    await file.close();
  }
}

/** Reads the file's bytes `[base + from, base + to)` in chunks for `onChunk`; returns `to`. */
async function readRange(
  file: FileHandle,
  buffer: Buffer,
  base: number,
  from: number,
  to: number,
  onChunk: (chunk: Buffer, at: number) => void,
): Promise<number> {
  let at = from;
  while (at < to) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, to - at), base + at);
    if (bytesRead === 0) throw new Error('the archive file ended early');
    onChunk(buffer.subarray(0, bytesRead), at);
    at += bytesRead;
  }
  return to;
}

/**
 * Follows member headers through the bytes as they pass (each member's data skipped by its
 * size), as the reader's framer counts them: `endAt` is where the first all-zero header is.
 */
class MemberWalker {
  endAt: number | undefined;
  private nextHeaderAt = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;

  scan(chunk: Buffer, at: number): void {
    while (this.endAt === undefined) {
      const offset = this.nextHeaderAt + this.partialBytes - at;
      if (offset >= chunk.length) return;
      const piece = chunk.subarray(offset, offset + BLOCK_BYTES - this.partialBytes);
      if (this.partialBytes + piece.length < BLOCK_BYTES) {
        this.partial.push(piece);
        this.partialBytes += piece.length;
        return;
      }
      const header =
        this.partialBytes === 0 ? piece : Buffer.concat([...this.partial, piece], BLOCK_BYTES);
      this.partial = [];
      this.partialBytes = 0;
      if (header.every((byte) => byte === 0)) {
        this.endAt = this.nextHeaderAt;
        return;
      }
      const dataBytes = dataBlockBytes(header);
      if (Number.isNaN(dataBytes)) throw new Error('a tar header has a malformed size');
      this.nextHeaderAt += BLOCK_BYTES + dataBytes;
    }
  }
}
