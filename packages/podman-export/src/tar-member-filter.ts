import { Transform, type TransformCallback } from 'node:stream';
import { PolytheneError } from '@polythene/errors';
import {
  addOwnerPermissions,
  blockBytes,
  describeMember,
  parsePaxRecords,
  readNumber,
  verifyChecksum,
} from './tar-header.ts';
import { TarMemberPolicy } from './tar-member-policy.ts';
import { refuse } from './tar-refusal.ts';

export { normalizeMemberPath } from './tar-member-policy.ts';

// Extension headers (pax, GNU long names) are held until their member is judged; real ones
// are a few hundred bytes, so anything larger is refused rather than buffered.
const maxExtensionBytes = 1024 * 1024;

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

/**
 * A streaming tar filter in front of GNU `tar -x`; it composes the header parsing
 * (`tar-header.ts`) and the member policy (`tar-member-policy.ts`) into a Transform. It parses every header (ustar prefix, pax
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
  private readonly policy = new TarMemberPolicy();

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
    const member = describeMember(block, type, size, {
      pax: this.pax,
      longName: this.longName,
      longLink: this.longLink,
    });
    const verdict = this.policy.judge(member);
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
}
