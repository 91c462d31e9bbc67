import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { PolytheneError } from '@polythene/errors';

/** The overlayfs extended attributes of one path that change what the merged view shows. */
export interface OverlayXattrs {
  /**
   * `overlay.opaque`: `y` hides the lower directories' children, `x` (kernel 6.7+) only marks
   * a directory holding xattr whiteouts; undefined when unset.
   */
  opaque?: string;
  /** True when `overlay.whiteout` is set (the xattr form of a whiteout, kernel 6.7+). */
  isWhiteout: boolean;
}

// Node has no xattr API and the store takes no native dependency, so one perl process
// (perl-base is Essential on Debian, present on nearly every Linux) serves lgetxattr(2)
// through its `syscall` builtin. The syscall number is per architecture: x86_64 has its own
// table, arm64/riscv64/loongarch64 share the generic one.
const LGETXATTR_BY_ARCH: Record<string, number> = {
  x64: 192,
  arm64: 9,
  riscv64: 9,
  loong64: 9,
};

// Reads NUL-terminated paths on stdin; answers one line per path: the opaque value (first
// byte, `-` when unset) and `1`/`0` for whiteout. Both the `trusted.` (root mounts) and
// `user.` (mounts with -o userxattr, unprivileged) namespaces count.
const PERL_SCRIPT = `
use strict; $| = 1; $/ = "\\0"; my $nr = $ARGV[0];
sub get { my ($p, $n) = @_; my $b = "\\0" x 64; my $r = syscall($nr, $p, $n, $b, 64); return $r > 0 ? substr($b, 0, 1) : ($r == 0 ? "" : undef); }
while (my $p = <STDIN>) { chomp $p; $p = "" . $p;
  my $o = get($p, "trusted.overlay.opaque"); $o = get($p, "user.overlay.opaque") unless defined $o;
  my $w = get($p, "trusted.overlay.whiteout"); $w = get($p, "user.overlay.whiteout") unless defined $w;
  print((defined $o && $o ne "" ? $o : "-"), "\\t", (defined $w ? "1" : "0"), "\\n"); }
`;

/** Reads overlay xattrs through one helper process; `close` ends it. */
export interface OverlayXattrReader {
  /** The overlay xattrs of `path` (not following a final symlink); none for a missing path. */
  read(path: string): Promise<OverlayXattrs>;
  /** Ends the helper process. */
  close(): void;
}

/**
 * Starts a reader of overlayfs xattrs. Throws `POLYTHENE_SETUP_FAILED` on an architecture
 * without a known syscall number; a missing perl surfaces on the first read.
 */
export function createOverlayXattrReader(): OverlayXattrReader {
  const syscallNumber = LGETXATTR_BY_ARCH[process.arch];
  if (syscallNumber === undefined) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `cannot read overlayfs xattrs on ${process.arch}: only x64, arm64, riscv64 and loong64 are supported; use copy clones instead of overlay layers`,
    );
  }
  let child: ChildProcessWithoutNullStreams | undefined;
  let failure: Error | undefined;
  let buffered = '';
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];

  function fail(error: Error): void {
    failure ??= error;
    for (const request of waiting.splice(0)) request.reject(failure);
  }

  function start(): ChildProcessWithoutNullStreams {
    // Loaded on first use, not with the module: `polythene exec` never needs it (see
    // spawnBackendProcess in @polythene/probe), and it costs ~4.5 ms of start-up.
    const { spawn } = process.getBuiltinModule('node:child_process');
    const started = spawn('perl', ['-e', PERL_SCRIPT, String(syscallNumber)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    started.stdout.setEncoding('utf8');
    started.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        waiting.shift()?.resolve(line);
        newline = buffered.indexOf('\n');
      }
      if (waiting.length === 0) setIdle(started, true);
    });
    started.on('error', (error) => {
      fail(
        new PolytheneError(
          'POLYTHENE_SETUP_FAILED',
          `cannot read overlayfs xattrs: perl could not be started (${error.message}); install perl (Debian: perl-base)`,
          { cause: error },
        ),
      );
    });
    started.on('exit', (code, signal) => {
      child = undefined;
      if (waiting.length > 0)
        fail(new Error(`overlay xattr helper exited (${signal ?? code}) before answering`));
    });
    started.stdin.on('error', () => undefined);
    return started;
  }

  // An idle helper must not keep the process alive; a busy one must, or an awaited read
  // would be dropped by an exiting event loop.
  function setIdle(process: ChildProcessWithoutNullStreams, isIdle: boolean): void {
    const method = isIdle ? 'unref' : 'ref';
    process[method]();
    (process.stdout as unknown as { [key: string]: () => void })[method]?.();
    (process.stdin as unknown as { [key: string]: () => void })[method]?.();
    (process.stderr as unknown as { [key: string]: () => void })[method]?.();
  }

  return {
    read(path: string): Promise<OverlayXattrs> {
      if (failure !== undefined) return Promise.reject(failure);
      if (path.includes('\0')) return Promise.resolve({ isWhiteout: false });
      child ??= start();
      const current = child;
      setIdle(current, false);
      return new Promise<string>((resolve, reject) => {
        waiting.push({ resolve, reject });
        current.stdin.write(`${path}\0`);
      }).then((line) => {
        const [opaque, whiteout] = line.split('\t');
        return {
          ...(opaque === undefined || opaque === '-' ? {} : { opaque }),
          isWhiteout: whiteout === '1',
        };
      });
    },
    close(): void {
      child?.stdin.end();
      child = undefined;
    },
  };
}

let shared: OverlayXattrReader | undefined;

/** A process-wide reader, started on first use and never keeping the process alive when idle. */
export function sharedOverlayXattrReader(): OverlayXattrReader {
  shared ??= createOverlayXattrReader();
  return shared;
}
