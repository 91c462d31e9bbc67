import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BoxRecord,
  boxDir,
  readStartTime,
  writeJson,
} from '@polythene/core/internal/boxes/box-state';
import { exec } from '@polythene/core/internal/exec/exec';
import { isPolytheneError, PolytheneError } from '@polythene/errors';
import { cliBackends } from '../../engine.ts';
import { holderPathInBox } from './box-helper.ts';

// SIGTERM to the keeper reaches the holder (forwarded), which ends the box; this long later
// the keeper kills what is left.
const KEEPER_KILL_GRACE_MS = 6_000;
const HOLDER_LOOK_MS = 20;
const HOLDER_LOOKS = 1_500;

/**
 * The keeper: the detached polythene process `start` leaves behind, which runs the box's
 * holder through the backend (`exec` on a throwaway layer, with polythene's helpers bound
 * in), records the holder's host pid once it is up, and removes the box's state when the
 * box ends. Its stdout and stderr are the box's log. Resolves to its exit code.
 */
export async function runBoxKeeper(storeDir: string, id: string): Promise<number> {
  const dir = boxDir(storeDir, id);
  const record = JSON.parse(readFileSync(join(dir, 'box.json'), 'utf8')) as BoxRecord;
  const holderPath = holderPathInBox();
  let backend = '';
  let isDone = false;
  const watch = watchForHolder(holderPath, id, () => isDone).then(async (pid) => {
    if (pid === undefined) return;
    const startTime = readStartTime(pid);
    if (startTime === undefined) return;
    await writeJson(join(dir, 'holder.json'), { pid, startTime, backend });
  });
  try {
    const result = await exec({
      ...cliBackends(),
      id: record.entry,
      command: [
        holderPath,
        'init',
        '--pid-namespace',
        ...(record.expireAfterMs === undefined
          ? []
          : ['--expire-after-ms', String(record.expireAfterMs)]),
      ],
      store: storeDir,
      isolation: record.isolation,
      env: [...(record.env ?? []), `POLYTHENE_BOX=${id}`],
      workdir: record.workdir,
      user: record.user,
      binds: record.binds,
      ephemeral: true,
      helpers: true,
      stdio: 'inherit',
      forwardSignals: true,
      killGraceMs: KEEPER_KILL_GRACE_MS,
      onBackendChosen: (name, guarantees) => {
        // Only a backend that makes a pid namespace (and the namespaces with it) can hold a
        // box: proot's processes would run on the host's, outliving nothing.
        if (name === 'proot' || !guarantees.includes('pid')) {
          throw new PolytheneError(
            'POLYTHENE_SETUP_FAILED',
            `${name} cannot hold namespaces, so it cannot keep a box up: use --isolation=bwrap or chroot`,
          );
        }
        backend = name;
      },
    });
    isDone = true;
    await watch;
    await rm(dir, { recursive: true, force: true });
    process.stderr.write(
      `polythene: box ${id} ended (${result.signal ? `signal ${result.signal}` : `exit ${result.exitCode}`})\n`,
    );
    return 0;
  } catch (error) {
    isDone = true;
    await watch;
    const message =
      isPolytheneError(error) || error instanceof Error ? error.message : String(error);
    process.stderr.write(`polythene: ${message.split('\n', 1)[0]}\n`);
    // The state stays for `start`, which reads the reason from the log and removes it (or
    // the next `ps` does, the keeper being gone).
    return isPolytheneError(error) && error.code === 'POLYTHENE_SETUP_FAILED' ? 125 : 1;
  }
}

/**
 * Finds the holder among this process's descendants by its argv, as soon as it runs. The
 * box has run nothing else yet, so no process of the box can pose as it.
 */
async function watchForHolder(
  holderPath: string,
  id: string,
  isDone: () => boolean,
): Promise<number | undefined> {
  for (let look = 0; look < HOLDER_LOOKS && !isDone(); look += 1) {
    const pid = findDescendantRunning(process.pid, holderPath);
    if (pid !== undefined) return pid;
    await new Promise((resolve) => setTimeout(resolve, HOLDER_LOOK_MS));
  }
  void id;
  return undefined;
}

function findDescendantRunning(ancestor: number, argv0: string): number | undefined {
  const parents = new Map<number, number>();
  const matches: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.startsWith(`${argv0}\0init`)) matches.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return matches.find((pid) => {
    for (let current = parents.get(pid); current !== undefined && current > 1; ) {
      if (current === ancestor) return true;
      current = parents.get(current);
    }
    return false;
  });
}
