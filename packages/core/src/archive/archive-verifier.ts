import { PolytheneError } from '@polythene/errors';
import { isEntryId } from '@polythene/store';
import {
  ARCHIVE_FORMAT,
  type ArchiveDigests,
  type ArchivedEntry,
  DIGESTS_MEMBER,
  ENTRY_MEMBER,
} from './entry-archive.ts';
import { formatDigest, headerName, headerType, newHash, TarFramer } from './tar-blocks.ts';

const MAX_JSON_BYTES = 1024 * 1024;

/**
 * Passes an entry archive on unchanged (to the extractor) while checking its frame: the
 * entry member first, the digests member last, and the digests matching the bytes. Call
 * {@link ArchiveVerifier.result} once the stream has ended.
 */
export class ArchiveVerifier extends TarFramer {
  private section: 'entry' | 'entry-data' | 'rootfs' | 'digests' | 'after' = 'entry';
  private readonly entryHash = newHash();
  private readonly rootfsHash = newHash();
  private rootfsBytes = 0;
  private entryParts: Buffer[] = [];
  private digestsParts: Buffer[] = [];
  private jsonBytes = 0;

  constructor(private readonly describe: string) {
    super({ stopAtEnd: false });
  }

  protected override handleHeader(header: Buffer): void {
    const name = headerName(header);
    if (this.section === 'entry') {
      if (name !== ENTRY_MEMBER || headerType(header) !== '0')
        throw this.damaged(
          `it does not start with ${ENTRY_MEMBER} (not a polythene save archive?)`,
        );
      this.section = 'entry-data';
      this.entryHash.update(header);
      return;
    }
    if (this.section === 'entry-data') this.section = 'rootfs';
    if (this.section === 'rootfs' && name === DIGESTS_MEMBER && headerType(header) === '0') {
      this.section = 'digests';
      return;
    }
    if (this.section === 'rootfs') {
      this.rootfsHash.update(header);
      this.rootfsBytes += header.length;
      return;
    }
    throw this.damaged(`it has members after ${DIGESTS_MEMBER}`);
  }

  protected override handleData(piece: Buffer): void {
    if (this.section === 'entry-data') {
      this.entryHash.update(piece);
      this.keepJson(this.entryParts, piece);
    } else if (this.section === 'rootfs') {
      this.rootfsHash.update(piece);
      this.rootfsBytes += piece.length;
    } else if (this.section === 'digests') {
      this.keepJson(this.digestsParts, piece);
    }
  }

  private keepJson(parts: Buffer[], piece: Buffer): void {
    this.jsonBytes += piece.length;
    if (this.jsonBytes > MAX_JSON_BYTES) throw this.damaged('a manifest member is too large');
    parts.push(piece);
  }

  private damaged(reason: string): PolytheneError {
    return new PolytheneError(
      'POLYTHENE_EXTRACT_FAILED',
      `archive ${this.describe} is refused: ${reason}; nothing was loaded`,
    );
  }

  /** The saved entry, once the whole stream passed and its digests matched; else throws. */
  result(): ArchivedEntry {
    if (this.section !== 'digests' || !this.hasEnded)
      throw this.damaged('it is truncated (no digests at its end)');
    const digests = parseJson(this.digestsParts) as Partial<ArchiveDigests> | undefined;
    const entry = parseJson(this.entryParts) as Partial<ArchivedEntry> | undefined;
    if (digests?.format !== ARCHIVE_FORMAT || digests.version !== 1)
      throw this.damaged(`its ${DIGESTS_MEMBER} is unreadable or of an unknown version`);
    if (
      digests.entrySha256 !== formatDigest(this.entryHash) ||
      digests.rootfsSha256 !== formatDigest(this.rootfsHash) ||
      digests.rootfsBytes !== this.rootfsBytes
    )
      throw this.damaged('its content does not match its digests (changed or corrupted)');
    const metadata = entry?.metadata;
    if (
      entry?.format !== ARCHIVE_FORMAT ||
      entry.version !== 1 ||
      typeof metadata !== 'object' ||
      metadata === null ||
      typeof metadata.id !== 'string' ||
      !isEntryId(metadata.id)
    )
      throw this.damaged(`its ${ENTRY_MEMBER} is unreadable or of an unknown version`);
    return entry as ArchivedEntry;
  }

  /** The tree's digest as recorded (valid only after {@link result} succeeded). */
  rootfsDigest(): string {
    const digests = parseJson(this.digestsParts) as ArchiveDigests;
    return digests.rootfsSha256;
  }
}

function parseJson(parts: Buffer[]): unknown {
  const text = Buffer.concat(parts).toString('utf8').replace(/\0+$/, '');
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
