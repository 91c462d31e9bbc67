import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

// Just enough of the tar format to frame an entry archive: write a plain ustar header for
// our own small members, and follow member boundaries (header, data rounded up to 512-byte
// blocks) in a stream GNU tar wrote. Judging members for safety is the extractor's job.

const BLOCK_BYTES = 512;

/** The end-of-archive marker: two zero blocks. */
export const TAR_END: Buffer = Buffer.alloc(2 * BLOCK_BYTES);

// Types whose size field does not count data blocks (links, devices, directories, fifos).
const DATALESS_TYPES = new Set(['1', '2', '3', '4', '5', '6']);

/** A regular-file member (header, data, padding) owned by 0:0, mode 0644. */
export function createFileMember(name: string, data: Buffer, mtimeSeconds: number): Buffer {
  return Buffer.concat([
    createFileHeader(name, data.length, mtimeSeconds),
    data,
    paddingFor(data.length),
  ]);
}

/**
 * The ustar header of a regular file owned by 0:0, mode 0644; a size past ustar's 8 GiB is
 * written in base-256, as GNU tar and Go's archive/tar read it.
 */
export function createFileHeader(name: string, sizeBytes: number, mtimeSeconds: number): Buffer {
  const header = Buffer.alloc(BLOCK_BYTES);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100, 'ascii');
  header.write('0000000\0', 108, 'ascii');
  header.write('0000000\0', 116, 'ascii');
  if (sizeBytes < 8 ** 11) {
    header.write(`${sizeBytes.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  } else {
    header[124] = 0x80;
    header.writeBigUInt64BE(BigInt(sizeBytes), 128);
  }
  header.write(
    `${Math.max(0, Math.floor(mtimeSeconds)).toString(8).padStart(11, '0')}\0`,
    136,
    'ascii',
  );
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** Zero bytes that round `dataBytes` up to whole 512-byte blocks. */
export function paddingFor(dataBytes: number): Buffer {
  return Buffer.alloc((BLOCK_BYTES - (dataBytes % BLOCK_BYTES)) % BLOCK_BYTES);
}

/** The member name in a raw header (no prefix, pax or long-name handling). */
export function headerName(header: Buffer): string {
  const end = header.indexOf(0);
  return header.subarray(0, end < 0 || end > 100 ? 100 : end).toString('utf8');
}

/** The member's type flag (`0` file, `5` directory, `x` pax header, …). */
export function headerType(header: Buffer): string {
  const flag = header[156] ?? 0;
  return flag === 0 ? '0' : String.fromCharCode(flag);
}

/** The data bytes that follow a header, rounded up to whole blocks. */
export function dataBlockBytes(header: Buffer): number {
  if (DATALESS_TYPES.has(headerType(header))) return 0;
  const field = header.subarray(124, 136);
  let size = 0;
  if (((field[0] ?? 0) & 0x80) !== 0) {
    // GNU base-256 for sizes of 8 GiB and more.
    size = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) size = size * 256 + byte;
  } else {
    size = Number.parseInt(field.toString('ascii').replace(/[\0 ]+/g, '') || '0', 8);
  }
  if (!Number.isSafeInteger(size) || size < 0) return Number.NaN;
  return Math.ceil(size / BLOCK_BYTES) * BLOCK_BYTES;
}

/** What a {@link TarFramer} calls for every member header, with the bytes before it. */
export type OnTarHeader = (header: Buffer, offsetBytes: number) => void;

/**
 * Passes a tar stream through member by member. With `stopAtEnd`, drops the end-of-archive
 * marker and everything after it (to append members); otherwise passes those on too.
 * `onHeader` sees each header; `onData` each piece of member data (padding included).
 */
export class TarFramer extends Transform {
  /** Bytes passed on so far, end marker excluded. */
  bytesPassed = 0;
  /** True once the end-of-archive marker was seen. */
  hasEnded = false;
  private remainingBytes = 0;
  private headerParts: Buffer[] = [];
  private headerBytes = 0;

  constructor(
    private readonly options: {
      stopAtEnd: boolean;
      /** Fed every byte passed on, end marker excluded. */
      hash?: Hash;
      onHeader?: OnTarHeader;
      onData?: (chunk: Buffer) => void;
    },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.hasEnded) {
        if (!this.options.stopAtEnd) this.push(chunk.subarray(offset));
        return;
      }
      if (this.remainingBytes > 0) {
        const piece = chunk.subarray(offset, offset + this.remainingBytes);
        this.remainingBytes -= piece.length;
        offset += piece.length;
        this.handleData(piece);
        this.forward(piece);
        continue;
      }
      const piece = chunk.subarray(offset, offset + BLOCK_BYTES - this.headerBytes);
      this.headerParts.push(piece);
      this.headerBytes += piece.length;
      offset += piece.length;
      if (this.headerBytes < BLOCK_BYTES) continue;
      const header = Buffer.concat(this.headerParts);
      this.headerParts = [];
      this.headerBytes = 0;
      if (header.every((byte) => byte === 0)) {
        this.hasEnded = true;
        if (!this.options.stopAtEnd) this.push(header);
        continue;
      }
      const dataBytes = dataBlockBytes(header);
      if (Number.isNaN(dataBytes)) throw new Error('a tar header has a malformed size');
      this.handleHeader(header);
      this.forward(header);
      this.remainingBytes = dataBytes;
    }
  }

  /** Sees each member header before it is passed on; throw to refuse the stream. */
  protected handleHeader(header: Buffer): void {
    this.options.onHeader?.(header, this.bytesPassed);
  }

  /** Sees each piece of member data (padding included) before it is passed on. */
  protected handleData(piece: Buffer): void {
    this.options.onData?.(piece);
  }

  private forward(piece: Buffer): void {
    this.bytesPassed += piece.length;
    this.options.hash?.update(piece);
    this.push(piece);
  }
}

/** A sha256 hash as `sha256:<hex>`. */
export function formatDigest(hash: Hash): string {
  return `sha256:${hash.digest('hex')}`;
}

/** A new sha256 hash. */
export function newHash(): Hash {
  return createHash('sha256');
}
