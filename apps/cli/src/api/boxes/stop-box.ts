import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BoxStatus,
  cleanDeadBox,
  findBox,
  isSameProcess,
  listBoxes,
} from '@polythene/core/internal/boxes/box-state';
import { openStoreFromOptions, type StoreOptions } from '@polythene/core/internal/store-options';

/** Options for {@link stopBox}. */
export interface StopBoxOptions extends StoreOptions {
  /** The box's id or name. */
  readonly box: string;
  /** How long its processes get after SIGTERM before everything is killed; default 5 s. */
  readonly graceMs?: number;
}

const POLL_MS = 50;

/**
 * Ends a box: SIGTERM to everything in it (through its holder), the grace period, SIGKILL to
 * all that is left, then its state and scratch layer are removed. Resolves to its id.
 */
export async function stopBox(options: StopBoxOptions): Promise<string> {
  const store = await openStoreFromOptions(options, false);
  const box = await findBox(store.dir, options.box);
  const hadKeeper = isSameProcess(box.record.keeperPid, box.record.keeperStartTime);
  await endBox(store.dir, box, options.graceMs ?? 5_000);
  // A keeper killed earlier never removed the box's scratch layer: a stale temporary now.
  if (!hadKeeper) await store.clearStaleTemporaries();
  return box.record.id;
}

/** Stops every running box of `entry` (`rm --force`); resolves to their ids. */
export async function stopBoxesOf(storeDir: string, entry: string): Promise<string[]> {
  const boxes = (await listBoxes(storeDir)).filter((box) => box.record.entry === entry);
  for (const box of boxes) await endBox(storeDir, box, 5_000);
  return boxes.map((box) => box.record.id);
}

async function endBox(storeDir: string, box: BoxStatus, graceMs: number): Promise<void> {
  const { keeperPid, keeperStartTime } = box.record;
  const holder = box.holder;
  // The holder ends the box itself on SIGTERM (its processes get SIGTERM, then SIGKILL after
  // its own grace), and the keeper then removes the scratch layer and the state.
  if (holder !== undefined && isSameProcess(holder.pid, holder.startTime))
    signal(holder.pid, 'SIGTERM');
  else if (keeperPid !== undefined && isSameProcess(keeperPid, keeperStartTime))
    signal(keeperPid, 'SIGTERM');
  const deadline = Date.now() + graceMs + 2_000;
  while (Date.now() < deadline && isSameProcess(keeperPid, keeperStartTime)) await sleep(POLL_MS);
  if (isSameProcess(keeperPid, keeperStartTime) && keeperPid !== undefined) {
    // Past every grace: the keeper kills the box's whole tree on SIGTERM (the backend's
    // tree kill), and is killed itself if even that hangs.
    signal(keeperPid, 'SIGTERM');
    const last = Date.now() + 8_000;
    while (Date.now() < last && isSameProcess(keeperPid, keeperStartTime)) await sleep(POLL_MS);
    if (isSameProcess(keeperPid, keeperStartTime)) signal(keeperPid, 'SIGKILL');
  }
  if (holder !== undefined && isSameProcess(holder.pid, holder.startTime))
    signal(holder.pid, 'SIGKILL');
  await cleanDeadBox(storeDir, box);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone meanwhile.
  }
}
