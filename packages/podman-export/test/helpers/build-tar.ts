// A tiny tar writer for hand-crafting archives, malicious ones included: it writes exactly
// the headers it is told to, with no sanitising.

/** One member of a hand-built archive. */
export interface TarEntry {
  name: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo, or any raw flag. */
  type?: string;
  data?: string | Buffer;
  linkName?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Extra pax records written in an `x` header before the member. */
  pax?: Record<string, string>;
  /** Write the name in a GNU `L` long-name header. */
  gnuLongName?: boolean;
  /** Write the link name in a GNU `K` header. */
  gnuLongLink?: boolean;
  /** Override the size field (to lie about data). */
  sizeField?: number;
  /** Put this in the ustar prefix field. */
  prefix?: string;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(fields: {
  name: string;
  type: string;
  size: number;
  linkName?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  prefix?: string;
  gnu?: boolean;
}): Buffer {
  const block = Buffer.alloc(512);
  block.write(fields.name, 0, 100, 'latin1');
  block.write(octal(fields.mode ?? 0o644, 8), 100, 'latin1');
  block.write(octal(fields.uid ?? 0, 8), 108, 'latin1');
  block.write(octal(fields.gid ?? 0, 8), 116, 'latin1');
  block.write(octal(fields.size, 12), 124, 'latin1');
  block.write(octal(1_700_000_000, 12), 136, 'latin1');
  block.write('        ', 148, 'latin1');
  block.write(fields.type, 156, 'latin1');
  block.write(fields.linkName ?? '', 157, 100, 'latin1');
  if (fields.gnu) {
    block.write('ustar  \0', 257, 'latin1');
  } else {
    block.write('ustar\0', 257, 'latin1');
    block.write('00', 263, 'latin1');
  }
  block.write('root', 265, 'latin1');
  block.write('root', 297, 'latin1');
  block.write(fields.prefix ?? '', 345, 155, 'latin1');
  let sum = 0;
  for (const byte of block) {
    sum += byte;
  }
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}

function paxData(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(body) + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) {
      length = String(length).length + Buffer.byteLength(body);
    }
    parts.push(Buffer.from(`${length}${body}`));
  }
  return Buffer.concat(parts);
}

/** Builds a complete tar archive (with the end-of-archive marker) from entries. */
export function buildTar(
  entries: readonly TarEntry[],
  options: { endMarker?: boolean } = {},
): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? '0';
    const data = Buffer.from(entry.data ?? '');
    if (entry.pax) {
      const body = paxData(entry.pax);
      blocks.push(header({ name: 'PaxHeader', type: 'x', size: body.length }), padded(body));
    }
    if (entry.gnuLongName) {
      const body = Buffer.from(`${entry.name}\0`);
      blocks.push(
        header({ name: '././@LongLink', type: 'L', size: body.length, gnu: true }),
        padded(body),
      );
    }
    if (entry.gnuLongLink) {
      const body = Buffer.from(`${entry.linkName ?? ''}\0`);
      blocks.push(
        header({ name: '././@LongLink', type: 'K', size: body.length, gnu: true }),
        padded(body),
      );
    }
    blocks.push(
      header({
        name: entry.gnuLongName ? entry.name.slice(0, 99) : entry.name,
        type,
        size: entry.sizeField ?? data.length,
        linkName: entry.gnuLongLink ? (entry.linkName ?? '').slice(0, 99) : entry.linkName,
        mode: entry.mode ?? (type === '5' ? 0o755 : 0o644),
        uid: entry.uid,
        gid: entry.gid,
        prefix: entry.prefix,
        gnu: entry.gnuLongName || entry.gnuLongLink,
      }),
    );
    if (data.length > 0) {
      blocks.push(padded(data));
    }
  }
  if (options.endMarker !== false) {
    blocks.push(Buffer.alloc(1024));
  }
  return Buffer.concat(blocks);
}
