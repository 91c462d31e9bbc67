import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** One process as `/proc/<pid>/stat` shows it. */
export interface ProcStat {
  readonly pid: number;
  /** Parent pid. */
  readonly ppid: number;
  /** State letter: `R`, `S`, `Z` (zombie), … */
  readonly state: string;
  /** Process group id. */
  readonly pgid: number;
}

/**
 * Parses `/proc/<pid>/stat`. The command name is in parentheses and may itself contain
 * spaces and parentheses, so fields are counted from the LAST `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const fields = text
    .slice(close + 1)
    .trim()
    .split(' ');
  const state = fields[0];
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  if (
    !Number.isInteger(pid) ||
    !Number.isInteger(ppid) ||
    !Number.isInteger(pgid) ||
    state === undefined
  ) {
    return undefined;
  }
  return { pid, ppid, state, pgid };
}

/** Reads one process's stat, or undefined when it is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

// The one definition of "alive" (a zombie is not), shared with the store and the exporter.
export { isProcessAlive } from '@polythene/host';

// A zombie (or a dying process) has exited already: killing it again changes nothing.
function isLiving(stat: ProcStat): boolean {
  return stat.state !== 'Z' && stat.state !== 'X';
}

/** Every process on the host, by scanning `/proc` (works without CONFIG_PROC_CHILDREN). */
export function listProcesses(): ProcStat[] {
  const processes: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return processes;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat !== undefined) processes.push(stat);
  }
  return processes;
}

/**
 * Direct children of `pid`, lowest pid first: from the kernel's per-thread `children` lists
 * where it keeps them (CONFIG_PROC_CHILDREN, a few small reads), else by scanning `/proc`
 * (which reads every process's stat: milliseconds on a busy host, and supervisors ask often).
 */
export function listChildPids(pid: number): number[] {
  const fromKernel = hasChildrenLists() ? readChildrenLists(pid) : undefined;
  const children =
    fromKernel ??
    listProcesses()
      .filter((process) => process.ppid === pid)
      .map((process) => process.pid);
  return children.sort((a, b) => a - b);
}

let childrenListsSupported: boolean | undefined;

function hasChildrenLists(): boolean {
  childrenListsSupported ??= existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
  return childrenListsSupported;
}

// Children of every thread of `pid` (any thread may fork); undefined when a list cannot be
// read for a reason other than the thread or process having exited.
function readChildrenLists(pid: number): number[] | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // The process is gone: it has no children.
  }
  const children: number[] = [];
  for (const task of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // The thread exited.
      return undefined;
    }
    for (const word of text.trim().split(/\s+/)) {
      if (word !== '') children.push(Number(word));
    }
  }
  return children.filter((child) => Number.isInteger(child) && child > 0);
}

/** Every descendant of `pid` (children, grandchildren, …), not `pid` itself. */
export function listDescendantPids(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const process of listProcesses()) {
    const siblings = childrenOf.get(process.ppid) ?? [];
    siblings.push(process.pid);
    childrenOf.set(process.ppid, siblings);
  }
  const descendants: number[] = [];
  const queue = [...(childrenOf.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    descendants.push(next);
    queue.push(...(childrenOf.get(next) ?? []));
  }
  return descendants;
}

/** Sends `signal` to `pid`, ignoring a process that is already gone. Returns true when sent. */
export function sendSignal(pid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs every descendant of `pid` (not `pid` itself), repeating while new ones appear:
 * a process may fork between the scan and the kill. Kills top-down so parents cannot respawn.
 */
export function killDescendants(pid: number): void {
  for (let round = 0; round < 5; round += 1) {
    const descendants = listDescendantPids(pid);
    if (descendants.length === 0) return;
    for (const descendant of descendants) sendSignal(descendant, 'SIGKILL');
  }
}

/**
 * SIGKILLs every living member of process group `pgid` except `sparePid`, repeating while new
 * ones appear. Used when the command has ended but processes it left behind keep its backend
 * alive. Zombies are left to their parent: they are not counted, so the usual case, a command
 * whose backend has not reaped it yet, costs one scan of `/proc`, not five.
 */
export function killProcessGroupExcept(pgid: number, sparePid: number): void {
  for (let round = 0; round < 5; round += 1) {
    const members = listProcesses().filter(
      (process) => process.pgid === pgid && process.pid !== sparePid && isLiving(process),
    );
    if (members.length === 0) return;
    for (const member of members) sendSignal(member.pid, 'SIGKILL');
  }
}

/** SIGKILLs `pid`'s process group, its descendants and `pid` itself. */
export function killProcessTree(pid: number): void {
  // The backend runs in its own process group (spawned detached): that catches children
  // that were re-parented away from the tree.
  sendSignal(-pid, 'SIGKILL');
  killDescendants(pid);
  sendSignal(pid, 'SIGKILL');
}
