import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { isProcessAlive } from '@polythene/probe';

// proot 5.1 writes its loader to /tmp/prooted-<pid>-XXXXXX (the directory is built in: it
// reads neither PROOT_TMP_DIR nor TMPDIR, and setting either would reach the command's
// environment, which proot passes on unchanged) and removes it only when it exits by itself.
const LOADER_DIR = '/tmp';
const LOADER_NAME = /^prooted-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Removes the loader files proot leaves in /tmp when it is killed (a timeout, a forwarded
 * signal's grace period, a SIGKILLed polythene): the one of `prootPid` (just reaped), and any
 * other whose proot is no longer running. Only regular files this user owns are unlinked
 * (never followed): another user's file of that name is left alone, and a proot still
 * running keeps its loader.
 */
export function removeProotLoaderFiles(prootPid: number | undefined): void {
  let names: string[];
  try {
    names = readdirSync(LOADER_DIR);
  } catch {
    return;
  }
  const uid = process.geteuid?.() ?? -1;
  for (const name of names) {
    const match = LOADER_NAME.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid !== prootPid && isProcessAlive(pid)) continue;
    const path = `${LOADER_DIR}/${name}`;
    try {
      const stats = lstatSync(path);
      if (stats.isFile() && stats.uid === uid) unlinkSync(path);
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
}
