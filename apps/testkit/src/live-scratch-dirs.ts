import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isMainThread } from 'node:worker_threads';

// Boxes are scratch directories in the store named after this process's pid
// (`.scratch-<uuid>.<pid>`). Four layers make sure none outlives the process:
// 1. `dispose()` at the end of each test (the fixture and `await using` call it);
// 2. an 'exit' hook removing what is still registered, synchronously (a box a test made by
//    hand and never disposed, in a process that exits normally);
// 3. SIGINT/SIGTERM/SIGHUP hooks doing the same, then re-raising the signal so the process
//    dies of it as it would have (vitest stops its fork workers with SIGTERM, and Ctrl-C
//    sends SIGINT to every process of the terminal's group);
// 4. a reaper: a detached `sh` reading a pipe from this process. The kernel closes the pipe
//    however this process ends, SIGKILL included, and the reaper then deletes this pid's
//    scratch directories in every store it was told about. It ignores SIGINT/SIGTERM/SIGHUP
//    so the Ctrl-C sent to the whole process group does not stop it first.

const liveDirs = new Set<string>();
const reapedStores = new Set<string>();
const HOOKED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let areHooksInstalled = false;
let reaper: ChildProcess | undefined;

// $1: the pid whose leftovers to remove. Store directories arrive one per line on stdin.
const REAPER_SCRIPT = `trap '' INT TERM HUP
pid=$1
stores=''
while IFS= read -r dir; do stores="$stores$dir
"; done
printf '%s' "$stores" | while IFS= read -r dir; do
  [ -n "$dir" ] || continue
  for path in "$dir"/.scratch-*."$pid"; do
    [ -d "$path" ] || continue
    chmod -R u+rwX -- "$path" 2>/dev/null
    rm -rf --one-file-system -- "$path"
  done
done`;

/** Records a live scratch directory so the exit hook and the reaper remove it if need be. */
export function registerScratchDir(storeDir: string, path: string): void {
  watchStore(storeDir);
  liveDirs.add(path);
  if (!areHooksInstalled) {
    areHooksInstalled = true;
    process.on('exit', removeLiveScratchDirsSync);
    // Signals reach only the main thread; a worker thread's boxes go with the process.
    if (isMainThread) for (const signal of HOOKED_SIGNALS) process.on(signal, removeAndReraise);
  }
}

/** Forgets a scratch directory that `dispose` removed. */
export function unregisterScratchDir(path: string): void {
  liveDirs.delete(path);
}

/** The scratch directories this process still holds (for tests and diagnostics). */
export function listLiveScratchDirs(): string[] {
  return [...liveDirs];
}

/**
 * Makes sure the reaper knows `storeDir`. Called before a scratch directory is created, so a
 * process killed in the middle of a copy leaves nothing either.
 */
export function watchStore(storeDir: string): void {
  if (reapedStores.has(storeDir)) return;
  reapedStores.add(storeDir);
  if (reaper === undefined) {
    reaper = spawn('sh', ['-c', REAPER_SCRIPT, 'polythene-testkit-reaper', String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // A missing `sh` only loses the last line of defence; the exit hook still runs.
    reaper.on('error', () => {});
    reaper.unref();
    // The pipe must not keep this process alive; the kernel still closes it at exit.
    (reaper.stdin as Socket | null)?.unref();
  }
  reaper.stdin?.write(`${storeDir}\n`);
}

/** Removes every registered scratch directory now, synchronously: for the 'exit' event. */
export function removeLiveScratchDirsSync(): void {
  for (const path of liveDirs) {
    try {
      // rm never follows symlinks; it fails on read-only directories as non-root.
      rmSync(path, { recursive: true, force: true });
    } catch {
      spawnSync(
        'sh',
        ['-c', 'chmod -R u+rwX -- "$1" 2>/dev/null; rm -rf --one-file-system -- "$1"', 'sh', path],
        {
          stdio: 'ignore',
        },
      );
    }
    liveDirs.delete(path);
  }
}

function removeAndReraise(signal: NodeJS.Signals): void {
  removeLiveScratchDirsSync();
  for (const hooked of HOOKED_SIGNALS) process.off(hooked, removeAndReraise);
  // With no other listener, dying of the signal is what would have happened without us;
  // another listener (the program's own handler) decides for itself.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
