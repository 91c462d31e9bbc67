import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Kernel knobs that decide whether unprivileged user namespaces (bwrap's requirement) work.
// Absent files are recorded as absent: a kernel that gains one is a different host.
const userNamespaceKnobs = [
  '/proc/sys/user/max_user_namespaces',
  '/proc/sys/kernel/unprivileged_userns_clone',
  '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
];

function readKnob(path: string): string {
  // Most kernels lack one knob or two: asking first is cheaper than the exception a failed
  // read builds (a stack trace on every exec).
  if (!existsSync(path)) return '-';
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '-';
  }
}

/** The effective uid, or -1 where the platform has none. */
export function readEffectiveUid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : -1;
}

/**
 * The host facts every probe result depends on: effective uid, kernel release and the user
 * namespace knobs. A few `readFile`s of `/proc`, no process spawns (and not `os.release()`:
 * loading node:os would cost every exec 0.2 ms).
 */
export function computeHostFingerprint(): string {
  return JSON.stringify([
    readEffectiveUid(),
    readKnob('/proc/sys/kernel/osrelease'),
    // A process in another user namespace (a container, a nested sandbox) may be refused what
    // the host allows: it probes afresh.
    readUserNamespace(),
    ...userNamespaceKnobs.map((path) => readKnob(path)),
  ]);
}

function readUserNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/user');
  } catch {
    return 'unknown';
  }
}

/**
 * Where `binary` resolves on `pathValue` (a `PATH` string) and the identity of the file there
 * (device, inode, size, mtime, mode — mode, because a setuid bwrap behaves differently), or
 * `missing`. Stats each `PATH` directory in turn, as a shell's lookup would.
 */
export function computeBinaryFingerprint(binary: string, pathValue: string | undefined): string {
  if (binary.includes('/')) return fingerprintOfFile(binary, binary) ?? `${binary}=missing`;
  // As findExecutable looks: relative entries are never used (so a binary in the current
  // directory must not decide the fingerprint either), and a directory listed twice in PATH
  // (profile scripts often add one again) is looked in once.
  const seen = new Set<string>();
  for (const directory of (pathValue ?? '').split(':')) {
    if (!directory.startsWith('/') || seen.has(directory)) continue;
    seen.add(directory);
    const fingerprint = fingerprintOfFile(binary, join(directory, binary));
    if (fingerprint !== undefined) return fingerprint;
  }
  return `${binary}=missing`;
}

// Undefined unless `path` is an executable file. A PATH directory this user cannot search
// (root's 0700 ~/.cargo/bin kept by sudo or runuser) is passed over, as `which` does.
function fingerprintOfFile(binary: string, path: string): string | undefined {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (!stats?.isFile() || (stats.mode & 0o111) === 0) return undefined;
  return `${binary}=${path}:${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.mode.toString(8)}`;
}
