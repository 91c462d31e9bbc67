/**
 * The Backend contract: what a package must provide to run commands in a root filesystem.
 * Built-in and custom backends implement exactly this; the registry and the CLI rely on
 * nothing else.
 */

/**
 * One isolation property a backend may enforce. The CLI's default policy asks for every
 * guarantee the chosen backend can give on this host, and warns (or, with `--strict`,
 * refuses) when one is lost.
 */
export type Guarantee =
  /** No network but loopback (own network namespace). */
  | 'network'
  /** Own pid namespace: the command sees only its own processes. */
  | 'pid'
  /** Own IPC namespace. */
  | 'ipc'
  /** Own UTS namespace (hostname). */
  | 'uts'
  /** A fresh `/proc` for the command's own pid namespace (or an emulated one). */
  | 'proc'
  /** A minimal `/dev` (null, zero, full, random, urandom, tty): never the host's devices. */
  | 'dev'
  /** Capabilities that allow escape dropped; no new privileges. */
  | 'capabilities'
  /** The command runs in a new session: no TIOCSTI into the caller's terminal. */
  | 'new-session'
  /** The command's whole process tree dies with it and with polythene. */
  | 'tree-kill'
  /**
   * Filesystem confinement against a hostile command: no system call reaches a host path
   * outside the rootfs and its binds (proot's path translation does not hold against one).
   */
  | 'filesystem'
  /** No key of the caller's session or user keyring is readable (fresh session keyring). */
  | 'keyring'
  /**
   * In-box ids 0–65535 are all mapped (a user namespace with a full range, or real root):
   * `chown`, `useradd` and package installs work as in a container.
   */
  | 'ids';

/** Every guarantee, in the order tables print them. */
export const ALL_GUARANTEES: readonly Guarantee[] = [
  'network',
  'pid',
  'ipc',
  'uts',
  'proc',
  'dev',
  'capabilities',
  'new-session',
  'tree-kill',
  'filesystem',
  'keyring',
  'ids',
];

/**
 * How the box reaches the network: `none` (own network namespace with loopback only, the
 * default), `host` (the host's network namespace), `private` (own network namespace with
 * outbound access through slirp4netns, a user-mode network stack).
 */
export type NetworkMode = 'none' | 'host' | 'private';

/** Every network mode, in the order messages list them. */
export const NETWORK_MODES: readonly NetworkMode[] = ['none', 'host', 'private'];

/** A host port that reaches a port in the box (`--publish HOST:BOX/PROTOCOL`). */
export interface PublishedPort {
  /** Port on the host's 127.0.0.1. */
  readonly hostPort: number;
  /** Port the service listens on in the box. */
  readonly boxPort: number;
  /** Transport protocol. */
  readonly protocol: 'tcp' | 'udp';
}

/** The network a run asks for. */
export interface RunNetwork {
  /** The mode; see {@link NetworkMode}. */
  readonly mode: NetworkMode;
  /** Ports to publish on the host's 127.0.0.1 (`private` only). */
  readonly publish: readonly PublishedPort[];
}

/** What a probe is told about the host. */
export interface ProbeContext {
  /** True when polythene runs with effective uid 0. */
  readonly isRoot: boolean;
  /** The host environment, for finding the backend's binaries on PATH. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
}

/** A tool a backend needs and the Debian package that provides it. */
export interface MissingTool {
  /** The binary name, e.g. `bwrap`. */
  readonly tool: string;
  /** The Debian/Ubuntu package that installs it, e.g. `bubblewrap`. */
  readonly debianPackage: string;
}

/** A backend that can run commands here, and what it enforces. */
export interface AvailableProbe {
  readonly available: true;
  /** The backend binary's version, when it reports one. */
  readonly version: string | undefined;
  /** Guarantees the backend enforces on this host. */
  readonly guarantees: readonly Guarantee[];
  /** Guarantees it cannot enforce here, each with the reason (e.g. proot cannot cut the network). */
  readonly lost: Readonly<Partial<Record<Guarantee, string>>>;
  /** Backend-specific facts found while probing (binary paths, flags), passed back to `run`. */
  readonly details: Readonly<Record<string, string | boolean>>;
  /**
   * True when `run` honours {@link RunSpec.overlay}: the backend mounts an overlayfs as the
   * root inside its own mount namespace (nothing is mounted on the host). Absent means no.
   */
  readonly canOverlay?: boolean;
  /**
   * False when `run` cannot make a bind read-only (proot): exec then passes such a backend
   * over for a run with a read-only bind instead of failing its set-up. Absent means it can.
   */
  readonly canBindReadOnly?: boolean;
}

/**
 * An overlay root: read-only lower layers under a writable upper layer, as overlayfs
 * mounts them. All paths are absolute host paths; `workDir` is on the same filesystem as
 * `upperDir` and is overlayfs's scratch space.
 */
export interface OverlayLayers {
  /** Lower layers, top-most first. */
  readonly lowerDirs: readonly string[];
  /** Where writes go; it persists after the run. */
  readonly upperDir: string;
  /** overlayfs's work directory (empty, same filesystem as `upperDir`). */
  readonly workDir: string;
}

/** A backend that cannot run here: an expected outcome, not an error. */
export interface UnavailableProbe {
  readonly available: false;
  /** One line saying why, e.g. `bwrap not found on PATH (install the bubblewrap package)`. */
  readonly reason: string;
  /** The missing tool, when that is the reason. */
  readonly missing?: MissingTool;
}

/** The outcome of probing one backend. */
export type ProbeResult = AvailableProbe | UnavailableProbe;

/** A host path made visible inside the root filesystem. */
export interface BindMount {
  /** Absolute host path. */
  readonly source: string;
  /** Absolute path inside the root filesystem. */
  readonly target: string;
  /** Mount read-only. */
  readonly readOnly: boolean;
}

/** Everything a backend needs to run one command. Paths inside the rootfs are absolute. */
export interface RunSpec {
  /**
   * Absolute host path of the root filesystem. With {@link RunSpec.overlay} it is the
   * top-most lower layer, for backends that only need to read the tree (e.g. to look up a
   * path); the root the command sees is the overlay.
   */
  readonly rootfs: string;
  /**
   * Run on an overlay of these layers instead of `rootfs` itself. Only given to backends
   * whose probe says `canOverlay`; unprivileged backends mount it with `userxattr` inside
   * their user namespace, root backends without it.
   */
  readonly overlay?: OverlayLayers;
  /**
   * The command as an argv; `argv[0]` is already resolved to an absolute path inside the
   * rootfs that exists there (the caller checks, so a missing command never reaches a backend).
   */
  readonly argv: readonly string[];
  /** The command's complete environment: nothing else from the host may reach it. */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory inside the rootfs. */
  readonly cwd: string;
  /** Numeric user and group inside the rootfs (0:0 is root, mapped or emulated as non-root). */
  readonly uid: number;
  /** Numeric group inside the rootfs. */
  readonly gid: number;
  /** Extra bind mounts. */
  readonly binds: readonly BindMount[];
  /**
   * `inherit`: the command shares polythene's stdin, stdout and stderr.
   * `pipe`: output is captured (up to `maxOutputBytes` each) and `input` is fed to stdin.
   */
  readonly stdio: 'inherit' | 'pipe';
  /** Bytes for the command's stdin in `pipe` mode; stdin is empty when absent. */
  readonly input?: string | Uint8Array;
  /** Cap on captured stdout and on captured stderr, in bytes, in `pipe` mode. */
  readonly maxOutputBytes?: number;
  /** Kill the whole tree after this many milliseconds; the result then has `timedOut: true`. */
  readonly timeoutMs?: number;
  /** How long a forwarded signal may take to end the command before the tree is killed. */
  readonly killGraceMs: number;
  /**
   * While the command runs, deliver SIGINT, SIGTERM and SIGHUP that polythene receives to the
   * command, and kill the whole tree if it has not ended `killGraceMs` later.
   */
  readonly forwardSignals: boolean;
  /** Aborting ends the command as a forwarded SIGTERM would. */
  readonly abortSignal?: AbortSignal;
  /** The probe result this backend returned on this host. */
  readonly probe: AvailableProbe;
  /**
   * Run the command on a pseudo-terminal of its own (`exec --tty`). Only given to backends
   * that say {@link Backend.supportsTerminal}; see `superviseOnTerminal` for the kit.
   */
  readonly terminal?: RunTerminal;
  /**
   * The capabilities (`CAP_*` names) a uid-0 command holds, bounded by its user namespace;
   * default podman's 11 (`CONTAINER_DEFAULT_CAPABILITIES`). A non-root uid gets none.
   */
  readonly capabilities?: readonly string[];
  /**
   * The network the command gets; absent means `none`. Only given with a mode in the
   * backend's {@link Backend.networkModes}. `/etc/resolv.conf` and `/etc/hosts` arrive as
   * ordinary binds.
   */
  readonly network?: RunNetwork;
  /**
   * Bind polythene's helpers' directory read-only at `/dev/.polythene` (as for a terminal
   * run) without a terminal: a box that stays up runs its holder from there. Backends that
   * cannot (proot) ignore it; `polythene start` refuses them first.
   */
  readonly helpers?: boolean;
  /**
   * Called synchronously right before the backend process is spawned and right after it
   * (also when the spawn fails): polythene enters the run's cgroup there, so the backend and
   * the command start in it (`exec`'s resource limits). `superviseProcess` calls them; a
   * backend that spawns by other means must too, or the run's limits do not hold.
   */
  readonly spawnHooks?: SpawnHooks;
}

/** See {@link RunSpec.spawnHooks}. */
export interface SpawnHooks {
  /** Right before the spawn. */
  readonly before: () => void;
  /** Right after the spawn. */
  readonly after: () => void;
}

/** How a command runs on a terminal of its own (`exec --tty`). */
export interface RunTerminal {
  /**
   * Forward polythene's stdin to the terminal (podman's `-i`); without it the command's
   * terminal gets no input, as with podman's `-t` alone.
   */
  readonly interactive: boolean;
}

/** How a command ended. Expected outcomes are data: only set-up failures throw. */
export interface RunResult {
  /** The command's exit status, or null when it died of a signal. */
  readonly exitCode: number | null;
  /** The signal that ended the command, if any. */
  readonly signal: NodeJS.Signals | null;
  /** True when `timeoutMs` ran out and the tree was killed. */
  readonly timedOut: boolean;
  /** Wall-clock time from spawning the backend to the command's end. */
  readonly durationMs: number;
  /** Name of the backend that ran the command. */
  readonly backend: string;
  /** Captured stdout in `pipe` mode. */
  readonly stdout?: Uint8Array;
  /** Captured stderr in `pipe` mode. */
  readonly stderr?: Uint8Array;
  /** True when stdout passed `maxOutputBytes` and the rest was dropped. */
  readonly stdoutTruncated?: boolean;
  /** True when stderr passed `maxOutputBytes` and the rest was dropped. */
  readonly stderrTruncated?: boolean;
}

/**
 * A way to run commands in a root filesystem. `run` throws a `PolytheneError` with code
 * `POLYTHENE_SETUP_FAILED` when the sandbox could not be set up and the command never started;
 * that is the run's answer (exit 125): no weaker backend is tried because of it.
 */
export interface Backend {
  /** Unique name, as accepted by `--isolation`. */
  readonly name: string;
  /** Other names accepted by `--isolation` (e.g. `bubblewrap` for `bwrap`). */
  readonly aliases?: readonly string[];
  /** One line for `polythene backends`. */
  readonly description: string;
  /**
   * Binaries the probe looks up on `PATH` (e.g. `['bwrap']`). Optional: the probe cache folds
   * their resolved path, size, mtime and mode into its host fingerprint, so installing,
   * upgrading or removing one makes the next exec probe again. Without it, a cached result
   * is only invalidated by host-wide changes or by `cache.invalidate(name)`.
   */
  readonly binaries?: readonly string[];
  /**
   * Changes whenever what the probe reports changes meaning (a new field, a new check), so a
   * result cached by an older version of the backend is probed again. Folded into the cache
   * fingerprint.
   */
  readonly probeRevision?: string;
  /**
   * True when `run` honours {@link RunSpec.terminal}: the command gets a pseudo-terminal of
   * its own inside the box. Absent means it cannot, and `exec --tty` refuses it (exit 125).
   */
  readonly supportsTerminal?: boolean;
  /**
   * The network modes `run` can give ({@link RunSpec.network}); absent means `none` only.
   * A run asking for another mode is refused (exit 125) before the backend is called.
   */
  readonly networkModes?: readonly NetworkMode[];
  /** Finds out, silently, whether this backend can run commands here and what it enforces. */
  probe(context: ProbeContext): Promise<ProbeResult>;
  /** Runs one command; resolves when it and its whole process tree have ended. */
  run(spec: RunSpec): Promise<RunResult>;
}

/** What a custom backend package default-exports. */
export type BackendFactory = () => Backend | Promise<Backend>;
