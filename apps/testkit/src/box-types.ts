import type { Guarantee } from '@polythene/probe';
import type { TreeDiff } from '@polythene/store';
import type { BoxMethod } from './choose-box-method.ts';

/**
 * Resource limits for every command run in a box (`image.box({ memory: '256m' })`), enforced
 * with a cgroup per command where polythene can write one; see the users' guide, "Limits".
 */
export interface BoxLimits {
  /** Memory cap: bytes, or podman's syntax (`512m`, `1g`); the command is killed (137) past it. */
  readonly memory?: number | string;
  /** CPU bandwidth in CPUs; a fraction allowed (`0.5`). */
  readonly cpus?: number | string;
  /** Cap on processes and threads; 0 = none. Default `POLYTHENE_PIDS_LIMIT`, else 4096. */
  readonly pidsLimit?: number | string;
}

/** Options for {@link Box.exec}. */
export interface BoxExecOptions {
  /** Variables to set, on top of the image's Env: `{ KEY: 'value' }` or `['KEY=value']`. */
  readonly env?: Readonly<Record<string, string>> | readonly string[];
  /** Working directory inside the box; default the image's WorkingDir, else `/`. */
  readonly cwd?: string;
  /** `USER[:GROUP]` (names or ids) inside the box; default the image's User, else root. */
  readonly user?: string | number;
  /** Kill the command's whole tree after this many milliseconds; the result says `timedOut`. */
  readonly timeoutMs?: number;
  /** Written to the command's stdin; default none (stdin is empty). */
  readonly input?: string | Uint8Array;
  /**
   * Network for this command, over the box's own (see {@link BoxOptions.network}):
   * `none`, `host` or `private`.
   */
  readonly network?: 'none' | 'host' | 'private';
  /** With `network: 'private'`: `HOST_PORT:BOX_PORT[/tcp|udp]` to publish on 127.0.0.1. */
  readonly publish?: readonly string[];
}

/** How a command in a box ended. Every result names the backend that ran it. */
/** How a box command ended. */
export interface BoxExecResult {
  /** The argv that ran (a string command is `['/bin/sh', '-c', command]`). */
  readonly command: readonly string[];
  /** Exit code: the command's own; 128+n when it died of signal n; 124 when it timed out. */
  readonly exitCode: number;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
  /** True when `timeoutMs` ran out and the tree was killed. */
  readonly timedOut: boolean;
  /** Captured stdout, decoded as UTF-8. */
  readonly stdout: string;
  /** Captured stderr, decoded as UTF-8. */
  readonly stderr: string;
  /** The backend that ran it: `bwrap`, `proot`, `chroot` or a custom backend's name. */
  readonly backend: string;
  /** The isolation guarantees that backend enforced for this run. */
  readonly guarantees: readonly Guarantee[];
  /** The network mode the command ran with. */
  readonly network: 'none' | 'host' | 'private';
  /** Wall-clock time of the run in milliseconds. */
  readonly durationMs: number;
  /** The limit the run hit: `memory` (killed, exit 137) or `pids` (a fork failed). */
  readonly limit?: 'memory' | 'pids';
}

/**
 * A host path bound into a box: `'SRC:DEST'` (read-only), `'SRC:DEST:rw'`, or an object
 * whose `readOnly` defaults to true. SRC may be relative to the current directory.
 */
export type BoxBind =
  | string
  | { readonly source: string; readonly target: string; readonly readOnly?: boolean };

/** Options for `image.box()`: limits, and what every command of the box sees besides its root. */
export interface BoxOptions extends BoxLimits {
  /** Host paths bound into the box, read-only unless they say otherwise (as exec's `--bind`). */
  readonly binds?: readonly BoxBind[];
  /**
   * A host directory (true: the current one) bound read-write at `/workspace`, where
   * commands start unless `cwd` says otherwise (as exec's `--workspace`).
   */
  readonly workspace?: string | true;
  /**
   * `none` (default: loopback only), `host` (the host's network, resolv.conf and hosts) or
   * `private` (own network through slirp4netns); `exec` may override it per command.
   */
  readonly network?: 'none' | 'host' | 'private';
}

/** Options for {@link Box.writeFile}. */
export interface BoxWriteFileOptions {
  /** Permission bits; a new file defaults to 0644, an existing one keeps its mode. */
  readonly mode?: number;
}

/**
 * A disposable copy of an image's root filesystem for one test: commands run in it, files
 * are read and written in it, and `diff()` says what changed. Nothing it does reaches the
 * image's store entry. Dispose it (`await using`, or the `box` fixture does it for you).
 */
export interface Box extends AsyncDisposable {
  /** The image reference the box was made from. */
  readonly ref: string;
  /** The store entry the box is layered on or copied from. */
  readonly entryId: string;
  /** `overlay` (a scratch overlay layer) or `copy` (a scratch full copy). */
  readonly method: BoxMethod;
  /** The box's scratch directory in the store, `<store>/.scratch-<uuid>.<pid>`. */
  readonly scratchDir: string;
  /**
   * Runs a command in the box and captures its output. An argv runs as is (no shell); a
   * string runs through `/bin/sh -c`. A non-zero exit, a signal or a timeout is data; a
   * missing command or no usable backend throws a `PolytheneError`.
   */
  exec(command: string | readonly string[], options?: BoxExecOptions): Promise<BoxExecResult>;
  /** Reads a file in the box as text (`encoding`, default `utf8`), following symlinks inside it. */
  readFile(path: string, encoding?: BufferEncoding): Promise<string>;
  /** Reads a file in the box as bytes (`encoding: null`). */
  readFile(path: string, encoding: null): Promise<Buffer>;
  /** Writes a file in the box; its parent directory must exist in the box. */
  writeFile(path: string, data: string | Uint8Array, options?: BoxWriteFileOptions): Promise<void>;
  /** True when `path` exists in the box (a symlink counts when its target exists inside the box). */
  exists(path: string): Promise<boolean>;
  /** What changed in the box since it was made: added, modified and deleted absolute paths. */
  diff(): Promise<TreeDiff>;
  /** Ends running commands and deletes the box's scratch directory; safe to call twice. */
  dispose(): Promise<void>;
}
