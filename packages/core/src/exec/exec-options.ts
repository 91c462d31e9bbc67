import type {
  BindMount,
  Guarantee,
  NetworkMode,
  OverlayLayers,
  PublishedPort,
  RunCgroup,
  RunResult,
} from '@polythene/probe';
import type { Logger } from '../logger.ts';
import type { StoreOptions } from '../store-options.ts';
import type { BackendSource } from './backend-source.ts';
import type { LimitOptions, LimitsOutcome } from './run-limits.ts';
import type { ThrowawayRoot } from './throwaway-root.ts';

// What `exec` accepts and what it resolves to; read-exec-arguments.ts checks the options
// against these, exec.ts runs them.

/** Options for {@link exec}. */
export interface ExecOptions extends StoreOptions, LimitOptions, BackendSource {
  /** The store entry to run in: its id (a UUID) or its name. */
  readonly id: string;
  /** The command as an argv; no shell is involved. */
  readonly command: readonly string[];
  /** Backend to probe first (`bwrap`/`bubblewrap`, `proot`, `chroot`, or a custom name). */
  readonly isolation?: string;
  /** Custom backend modules (package names or paths) to register after `backends`. */
  readonly backendModules?: readonly string[];
  /** `KEY=VALUE` to set, or `KEY` to copy from the host. */
  readonly env?: readonly string[];
  /** Working directory inside the rootfs; default the image's WorkingDir, else `/`. */
  readonly workdir?: string;
  /** `USER[:GROUP]` inside the rootfs; default the image's User, else root. */
  readonly user?: string;
  /** Extra binds: `SRC:DEST[:ro]` strings or parsed mounts. */
  readonly binds?: readonly (string | BindMount)[];
  /** Bind this host directory (true: the current directory) at `/workspace`. */
  readonly workspace?: string | true;
  /** Kill the whole tree after this many milliseconds; the result says `timedOut`. */
  readonly timeoutMs?: number;
  /** `inherit` passes stdio through; `pipe` captures output and feeds `input`. */
  readonly stdio?: 'inherit' | 'pipe';
  /** stdin for `pipe` mode. */
  readonly input?: string | Uint8Array;
  /** Cap on captured stdout and on captured stderr, in bytes (`pipe` mode). */
  readonly maxOutputBytes?: number;
  /**
   * Run the command on a pseudo-terminal of its own in the box (podman's `-t`): job control,
   * `tty`, window size and SIGWINCH, Ctrl-C from the terminal; stdout and stderr come out
   * merged, as from a terminal. `TERM` is the host's (else `xterm`) unless `env` sets it.
   * The user's terminal never enters the box. A backend without `supportsTerminal` refuses.
   */
  readonly tty?: boolean;
  /**
   * With `tty`: forward stdin to the command's terminal (podman's `-i`), putting polythene's
   * own terminal in raw mode meanwhile. Without `tty` stdin is always the command's.
   */
  readonly interactive?: boolean;
  /** Refuse to run with fewer than the backend's default guarantees instead of warning. */
  readonly strict?: boolean;
  /**
   * Capabilities added to in-box root's container set (podman's `--cap-add`: `NET_RAW`,
   * `CAP_NET_RAW` or `ALL`); a non-root user gets none either way.
   */
  readonly capAdd?: readonly string[];
  /** Capabilities dropped from that set (podman's `--cap-drop`; `ALL` empties it). */
  readonly capDrop?: readonly string[];
  /** Forward SIGINT/SIGTERM/SIGHUP received by this process to the command (the CLI does). */
  readonly forwardSignals?: boolean;
  /** Aborting ends the command as SIGTERM would. */
  readonly abortSignal?: AbortSignal;
  /**
   * A run cgroup made ahead of the call (`startRunCgroup` of `@polythene/probe`; the CLI's
   * launcher makes one while Node loads the CLI). exec uses it when its limits are exactly
   * the ones this run resolves to, and disposes of it either way.
   */
  readonly runCgroup?: RunCgroup;
  /** Grace period between a forwarded signal and killing the tree. */
  readonly killGraceMs?: number;
  /** Host working directory for relative `--bind`/`--workspace` paths; default process.cwd(). */
  readonly cwd?: string;
  /** Verbose and warning lines; silent by default. */
  readonly logger?: Logger;
  /**
   * Run on a throwaway copy of the entry (an overlay layer where a backend can mount one,
   * else a full copy); its changes vanish afterwards and the entry is never modified.
   */
  readonly ephemeral?: boolean;
  /**
   * Run on this throwaway root of the entry (see `createThrowawayRoot`; the testkit's boxes)
   * instead of the entry's own: the entry supplies the image config. The caller disposes it.
   */
  readonly root?: ThrowawayRoot;
  /**
   * Run on these overlay layers instead of the entry's own root: the
   * entry supplies the image config; writes go to `layers.upperDir`.
   */
  readonly layers?: OverlayLayers;
  /**
   * Run in this directory instead of the entry's own root (a throwaway copy made for a
   * backend without overlayfs); the entry supplies the image config.
   */
  readonly rootfs?: string;
  /** `none` (loopback only), `host` or `private` (slirp4netns); default POLYTHENE_NETWORK, else none. */
  readonly network?: NetworkMode | string;
  /** With `private`: `HOST_PORT:BOX_PORT[/tcp|udp]` strings or parsed ports (127.0.0.1 only). */
  readonly publish?: readonly (string | PublishedPort)[];
  /** Bind polythene's helpers into the box's `/dev/.polythene` (a box's holder runs there). */
  readonly helpers?: boolean;
  /**
   * Called with the chosen backend before the command starts; throwing refuses it (a box
   * that stays up refuses a backend that cannot hold namespaces).
   */
  readonly onBackendChosen?: (backend: string, guarantees: readonly Guarantee[]) => void;
}

/** How the command ended, and where. */
export interface ExecResult extends RunResult, LimitsOutcome {
  /** The guarantees the backend enforced for this run. */
  readonly guarantees: readonly Guarantee[];
  /** The store entry's rootfs path. */
  readonly rootfs: string;
  /** The network mode the command ran with. */
  readonly network: NetworkMode;
}
