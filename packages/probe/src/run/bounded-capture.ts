/** Collects a stream's bytes up to a limit and remembers whether more arrived. */
export interface BoundedCapture {
  /** Adds a chunk; bytes past the limit are dropped, not stored. */
  push(chunk: Uint8Array): void;
  /** The bytes kept so far, as one buffer. */
  bytes(): Uint8Array;
  /** True once more than the limit arrived. */
  readonly isTruncated: boolean;
}

/**
 * Creates a capture that keeps at most `limitBytes`: memory stays bounded however much the
 * command writes, and the stream keeps being drained so the command never blocks on a full
 * pipe.
 */
export function createBoundedCapture(limitBytes: number): BoundedCapture {
  const chunks: Uint8Array[] = [];
  let keptBytes = 0;
  let isTruncated = false;
  return {
    push(chunk: Uint8Array): void {
      const room = limitBytes - keptBytes;
      if (chunk.length <= room) {
        chunks.push(chunk);
        keptBytes += chunk.length;
        return;
      }
      if (room > 0) {
        chunks.push(chunk.subarray(0, room));
        keptBytes += room;
      }
      isTruncated = true;
    },
    bytes(): Uint8Array {
      return new Uint8Array(Buffer.concat(chunks));
    },
    get isTruncated(): boolean {
      return isTruncated;
    },
  };
}
