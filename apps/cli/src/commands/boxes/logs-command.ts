import { createReadStream, promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { boxLogPath, findBox, isSameProcess } from '@polythene/core/internal/boxes/box-state';
import { openStoreFromOptions } from '@polythene/core/internal/store-options';
import { lastBoolean, type RawOptions } from '../../normalize-options.ts';
import { readCommandContext } from '../command-context.ts';

const FOLLOW_POLL_MS = 100;

/** `polythene logs BOX [--follow]`: the output of the box's holder and detached processes. */
export async function logsCommand(ref: string, options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const store = await openStoreFromOptions({ store: context.store }, false, 'read');
  const box = await findBox(store.dir, String(ref));
  const path = boxLogPath(store.dir, box.record.id);
  let offset = await copyFrom(path, 0);
  if (!lastBoolean(options.follow)) return 0;
  const { holder } = box;
  // Until the box ends (its holder gone), or polythene is interrupted.
  while (holder !== undefined && isSameProcess(holder.pid, holder.startTime)) {
    await sleep(FOLLOW_POLL_MS);
    offset = await copyFrom(path, offset);
  }
  return 0;
}

async function copyFrom(path: string, offset: number): Promise<number> {
  let size: number;
  try {
    size = (await fs.stat(path)).size;
  } catch {
    return offset;
  }
  if (size <= offset) return offset;
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path, { start: offset, end: size - 1 });
    stream.on('error', reject);
    stream.on('end', resolve);
    stream.pipe(process.stdout, { end: false });
  });
  return size;
}
