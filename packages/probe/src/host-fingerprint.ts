import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Kernel knobs that decide whether unprivileged user namespaces (bwrap's requirement) work.
// Absent files are recorded as absent: a kernel that gains one is a different host.
const userNamespaceKnobs = [
  '/proc/sys/user/max_user_namespaces',
  '/proc/sys/kernel/unprivileged_userns_clone',
  '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
  // The subordinate id ranges decide whether a box gets a full id map (the `ids` guarantee).
  '/etc/subuid',
  '/etc/subgid',
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

// The lines of /proc/self/status that change what a probe finds on the same kernel: a process
// without CAP_SYS_ADMIN (capsh --drop, setpriv --bounding-set), under no_new_privs or a
// seccomp filter may be refused namespaces, mounts or chroot that an unrestricted one gets.
const restrictionFields = ['CapEff', 'CapBnd', 'NoNewPrivs', 'Seccomp'];

/**
 * This process's restrictions, from one read of `/proc/self/status`: effective and bounding
 * capabilities, NoNewPrivs and the seccomp mode (`-` for a field the kernel lacks).
 */
export function readProcessRestrictions(): string[] {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'latin1');
  } catch {
    return restrictionFields.map(() => '-');
  }
  return restrictionFields.map((field) => {
    const start = status.indexOf(`\n${field}:`);
    if (start < 0) return '-';
    const end = status.indexOf('\n', start + 1);
    return status.slice(start + field.length + 2, end < 0 ? undefined : end).trim();
  });
}

/**
 * The host facts every probe result depends on: effective uid, kernel release, the user
 * namespace knobs, and this process's capabilities, NoNewPrivs and seccomp mode (so a run
 * under restricted capabilities never answers for an unrestricted one). A few `readFile`s of
 * `/proc`, no process spawns (and not `os.release()`: loading node:os would cost every exec
 * 0.2 ms).
 */
export function computeHostFingerprint(): string {
  return JSON.stringify([
    readEffectiveUid(),
    ...readProcessRestrictions(),
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
