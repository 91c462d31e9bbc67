import { listBoxes } from '@polythene/core/internal/boxes/box-state';
import { PolytheneError } from '@polythene/errors';
import { stopBoxesOf } from './stop-box.ts';

/**
 * Before entries are removed: a running box on one of them refuses the removal, naming the
 * box (`POLYTHENE_ENTRY_IN_USE`), unless `force`, which stops those boxes first.
 */
export async function settleBoxesOfEntries(
  storeDir: string,
  entries: readonly string[],
  force: boolean,
): Promise<void> {
  const boxes = (await listBoxes(storeDir)).filter((box) => entries.includes(box.record.entry));
  if (boxes.length === 0) return;
  if (!force) {
    const [first] = boxes;
    if (first === undefined) return;
    const shown =
      first.record.name === undefined
        ? first.record.id
        : `${first.record.id} (${first.record.name})`;
    throw new PolytheneError(
      'POLYTHENE_ENTRY_IN_USE',
      `cannot remove entry ${first.record.entry}: box ${shown} runs on it; stop it (polythene stop) or pass --force`,
    );
  }
  for (const entry of new Set(boxes.map((box) => box.record.entry)))
    await stopBoxesOf(storeDir, entry);
}
