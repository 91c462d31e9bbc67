import { stopBox } from '../../api/boxes/stop-box.ts';
import { lastString, type RawOptions } from '../../normalize-options.ts';
import { readCommandContext } from '../command-context.ts';

/** `polythene stop BOX…`: ends boxes (SIGTERM, grace, SIGKILL, clean-up); prints their ids. */
export async function stopCommand(boxes: string[], options: RawOptions): Promise<number> {
  const context = readCommandContext(options);
  const grace = lastString(options.time, '--time');
  const graceMs = grace === undefined ? undefined : Math.round(Number(grace) * 1000);
  for (const box of boxes.map(String)) {
    const id = await stopBox({
      store: context.store,
      box,
      ...(graceMs === undefined || Number.isNaN(graceMs) ? {} : { graceMs }),
    });
    process.stdout.write(`${id}\n`);
  }
  return 0;
}
