import { Transform, type TransformCallback } from 'node:stream';
import { PolytheneError } from '@polythene/errors';

const blockBytes = 512;
// Extension headers (pax, GNU long names) are held until their member is judged; real ones
// are a few hundred bytes, so anything larger is refused rather than buffered.
const maxExtensionBytes = 1024 * 1024;
const headerOnlyTypes = new Set(['1', '2', '3', '4', '5', '6']);

/** Counters a {@link TarMemberFilter} keeps while the archive streams through it. */
export interface TarFilterStats {
  /** Archive bytes read so far. */
  bytesRead: number;
  /** Members passed on for extraction (files, directories, links). */
  membersPassed: number;
  /** Device nodes and fifos dropped from the archive. */
  skippedSpecialFiles: number;
}

/** Options for {@link TarMemberFilter}. */
export interface TarMemberFilterOptions {
  /** Called after each member header is judged, with the running counters. */
  onMember?: (stats: Readonly<TarFilterStats>) => void;
  /**
   * Give directories owner `rwx` (header rewritten). For non-root extraction: a read-only
   * directory (Fedora ships `/usr` as 0555) would otherwise stop its owner from deleting the
   * tree with `rm -rf`.
   */
  makeDirectoriesOwnerWritable?: boolean;
}

interface Member {
  type: string;
  path: string;
  linkPath: string;
  dataBytes: number;
}

/**
 * A streaming tar filter in front of GNU `tar -x`. It parses every header (ustar prefix, pax
 * `x`/`g`, GNU `L`/`K` long names), refuses the archive when a member could write outside the
 * target (absolute names, `..`, paths through a symlink the archive created, hard links that
 * leave the tree) or uses a member type it does not understand, drops device nodes and fifos
 * (with their extension headers), and passes everything else through byte for byte without
 * buffering file data.
 */
export class TarMemberFilter extends Transform {
  /** The running counters. */
  readonly stats: TarFilterStats = { bytesRead: 0, membersPassed: 0, skippedSpecialFiles: 0 };

  private readonly onMember: ((stats: Readonly<TarFilterStats>) => void) | undefined;
  private readonly makeDirectoriesOwnerWritable: boolean;
  private readonly header: Buffer = Buffer.alloc(blockBytes);
  private headerFill = 0;
  // Bytes of the current member's data (plus padding) still to come.
  private dataRemaining = 0;
  private dataMode: 'pass' | 'drop' | 'collect' = 'pass';
  private collectBytes = 0;
  private collected: Buffer[] = [];
  private pendingRaw: Buffer[] = [];
  private pendingRawBytes = 0;
  private pax: Map<string, string> = new Map();
  private longName: string | undefined;
  private longLink: string | undefined;
  private collectingType = '';
  private ended = false;
  // Paths (normalised) that are symlinks in the tree being built: nothing may be written
  // beneath them, whatever GNU tar would do with the link.
  private readonly symlinks = new Set<string>();

  constructor(options: TarMemberFilterOptions = {}) {
    super();
    this.onMember = options.onMember;
    this.makeDirectoriesOwnerWritable = options.makeDirectoriesOwnerWritable ?? false;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.stats.bytesRead += chunk.length;
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (!this.ended) {
      callback(
        new PolytheneError(
          'POLYTHENE_EXTRACT_FAILED',
          'the image archive ended early (no end-of-archive marker); pull again',
        ),
      );
      return;
    }
    callback();
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.ended) {
        return; // Whatever follows the end marker is padding; GNU tar ignores it too.
      }
      if (this.dataRemaining > 0) {
        const take = Math.min(this.dataRemaining, chunk.length - offset);
        const slice = chunk.subarray(offset, offset + take);
        if (this.dataMode === 'pass') {
          this.push(slice);
        } else if (this.dataMode === 'collect') {
          this.holdRaw(Buffer.from(slice));
          this.collected.push(Buffer.from(slice));
        }
        this.dataRemaining -= take;
        offset += take;
        if (this.dataRemaining === 0 && this.dataMode === 'collect') {
          this.finishExtension();
        }
        continue;
      }
      const take = Math.min(blockBytes - this.headerFill, chunk.length - offset);
      chunk.copy(this.header, this.headerFill, offset, offset + take);
      this.headerFill += take;
      offset += take;
      if (this.headerFill === blockBytes) {
        this.headerFill = 0;
        this.judgeHeader(Buffer.from(this.header));
      }
    }
  }

  private holdRaw(buffer: Buffer): void {
    this.pendingRawBytes += buffer.length;
    if (this.pendingRawBytes > maxExtensionBytes) {
      throw refuse('an extension header is larger than 1 MiB');
    }
    this.pendingRaw.push(buffer);
  }

  private judgeHeader(block: Buffer): void {
    if (block.every((byte) => byte === 0)) {
      if (this.pendingRaw.length > 0) {
        throw refuse('an extension header is not followed by a member');
      }
      this.ended = true;
      this.push(Buffer.alloc(blockBytes * 2));
      return;
    }
    verifyChecksum(block);
    const type = String.fromCharCode(block[156] ?? 0);
    const size = readNumber(block, 124, 12);
    const padded = Math.ceil(size / blockBytes) * blockBytes;
    if (type === 'x' || type === 'L' || type === 'K') {
      if (size > maxExtensionBytes) {
        throw refuse(`an extension header of ${size} bytes is too large`);
      }
      this.holdRaw(block);
      this.collectingType = type;
      this.collectBytes = size;
      this.collected = [];
      this.dataMode = 'collect';
      this.dataRemaining = padded;
      if (padded === 0) {
        this.finishExtension();
      }
      return;
    }
    if (type === 'g') {
      if (this.pendingRaw.length > 0) {
        throw refuse('a global pax header sits between a member and its extension headers');
      }
      // A global header applies to every later member; one that renames or resizes them
      // would defeat the per-member checks, and podman never writes one.
      if (size > maxExtensionBytes) {
        throw refuse('a global pax header is too large');
      }
      this.collectingType = 'g';
      this.collectBytes = size;
      this.collected = [];
      this.holdRaw(block);
      this.dataMode = 'collect';
      this.dataRemaining = padded;
      if (padded === 0) {
        this.finishExtension();
      }
      return;
    }
    const member = this.describeMember(block, type, size);
    const verdict = this.judgeMember(member);
    if (verdict === 'root') {
      // The archive's own `./` would re-mode the caller's target (a 0555 root would stop a
      // non-root owner from deleting the tree); the caller owns that directory's metadata.
      this.dropPending();
      this.dataMode = 'drop';
      this.dataRemaining = 0;
      return;
    }
    const raw = this.pendingRaw;
    this.dropPending();
    const dataPadded = Math.ceil(member.dataBytes / blockBytes) * blockBytes;
    if (verdict === 'drop') {
      this.stats.skippedSpecialFiles += 1;
      this.dataMode = 'drop';
    } else {
      for (const buffer of raw) {
        this.push(buffer);
      }
      if (member.type === '5' && this.makeDirectoriesOwnerWritable) {
        addOwnerPermissions(block);
      }
      this.push(block);
      this.stats.membersPassed += 1;
      this.dataMode = 'pass';
    }
    this.dataRemaining = dataPadded;
    this.onMember?.(this.stats);
  }

  private dropPending(): void {
    this.pendingRaw = [];
    this.pendingRawBytes = 0;
    this.pax = new Map();
    this.longName = undefined;
    this.longLink = undefined;
  }

  private finishExtension(): void {
    const content = Buffer.concat(this.collected).subarray(0, this.collectBytes);
    this.collected = [];
    const type = this.collectingType;
    if (type === 'L' || type === 'K') {
      const text = content.toString('latin1');
      const end = text.indexOf('\0');
      const value = end === -1 ? text : text.slice(0, end);
      if (type === 'L') {
        this.longName = value;
      } else {
        this.longLink = value;
      }
      return;
    }
    const records = parsePaxRecords(content);
    for (const key of records.keys()) {
      // GNU.sparse.name renames the member behind our back, and sparse maps change how
      // the data is laid out; podman never writes them.
      if (key.startsWith('GNU.')) {
        throw refuse(`pax keyword ${key} is not supported`);
      }
    }
    if (type === 'g') {
      for (const key of ['path', 'linkpath', 'size']) {
        if (records.has(key)) {
          throw refuse(`a global pax header sets "${key}" for every member`);
        }
      }
      // Harmless global headers go out at once: they belong to no single member.
      for (const buffer of this.pendingRaw) {
        this.push(buffer);
      }
      this.pendingRaw = [];
      this.pendingRawBytes = 0;
      return;
    }
    for (const [key, value] of records) {
      this.pax.set(key, value);
    }
  }

  private describeMember(block: Buffer, type: string, headerSize: number): Member {
    const magic = block.toString('latin1', 257, 263);
    let path = readString(block, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = readString(block, 345, 155);
      if (prefix.length > 0) {
        path = `${prefix}/${path}`;
      }
    }
    path = this.pax.get('path') ?? this.longName ?? path;
    const linkPath = this.pax.get('linkpath') ?? this.longLink ?? readString(block, 157, 100);
    const paxSize = this.pax.get('size');
    let dataBytes = headerSize;
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize)) {
        throw refuse(`pax size "${paxSize}" is not a number`);
      }
      dataBytes = Number(paxSize);
    }
    // Readers disagree on whether links, directories and special files may carry data; if
    // we skipped a different length than GNU tar, a header hidden in "data" would reach tar
    // unchecked. Legitimate writers (Go's archive/tar, GNU tar) always write 0.
    if (headerOnlyTypes.has(type) && dataBytes !== 0) {
      throw refuse(`member ${quote(path)} of type ${type} claims ${dataBytes} data bytes`);
    }
    return { type, path, linkPath, dataBytes };
  }

  private judgeMember(member: Member): 'pass' | 'drop' | 'root' {
    const parts = normalizeMemberPath(member.path);
    if (parts.length === 0) {
      if (member.type !== '5') {
        throw refuse(`member ${quote(member.path)} names the root but is not a directory`);
      }
      return 'root';
    }
    this.refuseThroughSymlink(parts, member.path);
    switch (member.type) {
      case '0':
      case '\0':
      case '7':
      case '5':
        // A path that was a symlink stays suspect even once replaced: members beneath it are
        // refused, which no legitimate export needs.
        return 'pass';
      case '2':
        if (member.linkPath.length === 0) {
          throw refuse(`symlink ${quote(member.path)} has an empty target`);
        }
        this.symlinks.add(parts.join('/'));
        return 'pass';
      case '1': {
        if (member.linkPath.startsWith('/')) {
          throw refuse(
            `hard link ${quote(member.path)} points to absolute ${quote(member.linkPath)}`,
          );
        }
        const target = normalizeMemberPath(member.linkPath);
        if (target.length === 0) {
          throw refuse(`hard link ${quote(member.path)} points to the root directory`);
        }
        this.refuseThroughSymlink(target, member.linkPath);
        if (this.symlinks.has(target.join('/'))) {
          this.symlinks.add(parts.join('/'));
        }
        return 'pass';
      }
      case '3':
      case '4':
      case '6':
        return 'drop';
      default:
        throw refuse(
          `member ${quote(member.path)} has unsupported type ${JSON.stringify(member.type)}`,
        );
    }
  }

  private refuseThroughSymlink(parts: readonly string[], original: string): void {
    if (this.symlinks.size === 0) {
      return;
    }
    let prefix = '';
    for (let index = 0; index < parts.length - 1; index += 1) {
      prefix = index === 0 ? (parts[0] ?? '') : `${prefix}/${parts[index]}`;
      if (this.symlinks.has(prefix)) {
        throw refuse(`member ${quote(original)} lies beneath symlink ${quote(prefix)}`);
      }
    }
  }
}

/**
 * Splits a member name into components, dropping `.` and empty ones.
 * @throws PolytheneError for absolute names and any `..` component.
 */
export function normalizeMemberPath(name: string): string[] {
  if (name.startsWith('/')) {
    throw refuse(`member ${quote(name)} has an absolute name`);
  }
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw refuse(`member ${quote(name)} climbs out with ".."`);
  }
  return parts;
}

function refuse(reason: string): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_EXTRACT_FAILED',
    `refusing the image archive: ${reason}; the image is malformed or malicious`,
  );
}

function quote(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

function readString(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('latin1', start, end === -1 || end > start + length ? start + length : end);
}

function readNumber(block: Buffer, start: number, length: number): number {
  const first = block[start] ?? 0;
  if (first & 0x80) {
    // GNU base-256: big-endian, the top bit of the first byte is the marker.
    let value = first & 0x7f;
    for (let index = 1; index < length; index += 1) {
      value = value * 256 + (block[start + index] ?? 0);
    }
    if (!Number.isSafeInteger(value)) {
      throw refuse('a numeric header field is out of range');
    }
    return value;
  }
  const text = readString(block, start, length).trim();
  if (text.length === 0) {
    return 0;
  }
  if (!/^[0-7]+$/.test(text)) {
    throw refuse(`header field "${text}" is not an octal number`);
  }
  return Number.parseInt(text, 8);
}

function addOwnerPermissions(block: Buffer): void {
  const mode = readNumber(block, 100, 8);
  if ((mode & 0o700) === 0o700) {
    return;
  }
  block.write(`${(mode | 0o700).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  block.write('        ', 148, 'latin1');
  let sum = 0;
  for (const byte of block) {
    sum += byte;
  }
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

function verifyChecksum(block: Buffer): void {
  const stored = readNumber(block, 148, 8);
  let sum = 0;
  for (let index = 0; index < blockBytes; index += 1) {
    sum += index >= 148 && index < 156 ? 0x20 : (block[index] ?? 0);
  }
  let signedSum = 0;
  for (let index = 0; index < blockBytes; index += 1) {
    const byte = block[index] ?? 0;
    signedSum += index >= 148 && index < 156 ? 0x20 : byte > 127 ? byte - 256 : byte;
  }
  // Some old writers summed signed bytes; GNU tar accepts both, so do we.
  if (sum !== stored && signedSum !== stored) {
    throw refuse('a header checksum does not match (corrupt or not a tar archive)');
  }
}

function parsePaxRecords(content: Buffer): Map<string, string> {
  // latin1 maps bytes 1:1 to characters, so the byte lengths in the records line up.
  const text = content.toString('latin1');
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < text.length) {
    if (text[offset] === '\0') {
      break;
    }
    const space = text.indexOf(' ', offset);
    const length = Number.parseInt(text.slice(offset, space), 10);
    if (space === -1 || !Number.isSafeInteger(length) || length <= 0) {
      throw refuse('a pax record is malformed');
    }
    const record = text.slice(space + 1, offset + length - 1);
    if (text[offset + length - 1] !== '\n') {
      throw refuse('a pax record is malformed');
    }
    const equals = record.indexOf('=');
    if (equals === -1) {
      throw refuse('a pax record has no "="');
    }
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}
