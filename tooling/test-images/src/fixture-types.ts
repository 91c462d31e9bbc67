// Contract for the local test fixtures every integration test uses. Signatures are fixed so
// other packages can code against them.

/** References to the local test images, valid for the podman of the user who built them. */
export interface TestImages {
  /** `localhost/polythene-test/busybox:latest`: a static busybox rootfs imported into podman. */
  readonly busybox: string;
  /** `oci-archive:/…/busybox.oci.tar`: the same image as an OCI archive. */
  readonly ociArchive: string;
  /** `docker-archive:/…/busybox.docker.tar`: the same image as a docker archive. */
  readonly dockerArchive: string;
  /** `oci:/…/busybox-oci-layout:latest`: the same image as an OCI layout directory. */
  readonly ociLayout: string;
  /** `dir:/…/busybox-dir`: the same image as a `dir:` transport directory. */
  readonly dirTransport: string;
  /**
   * `localhost/polythene-test/configured:latest`: busybox with Env (`GREETING=hello`,
   * `PATH=/usr/local/bin:/usr/bin:/bin`), WorkingDir `/srv/app` (owned by 1000:1000), User
   * `1000:1000`, Entrypoint `["/bin/sh","-c"]`, Cmd `["echo configured"]`, and a passwd with
   * `app:x:1000:1000::/home/app:/bin/sh`.
   */
  readonly configured: string;
  /**
   * `localhost/polythene-test/no-shell:latest`: a distroless-like image holding exactly one
   * file, the static binary `/hello` (a tiny hand-assembled ELF, no libc). Run with any
   * arguments it writes `hello from polythene\n` to stdout and exits 0. There is no `/bin/sh`
   * and nothing else, so anything but `/hello` is "command not found".
   */
  readonly noShell: string;
}

/** A docker-registry server on 127.0.0.1 holding the busybox image. */
export interface LoopbackRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** `127.0.0.1:PORT/polythene-test/busybox:latest`, pushed and pullable. */
  readonly busyboxRef: string;
  /**
   * Environment for podman so it treats this registry as insecure (plain HTTP) for this test
   * only: `CONTAINERS_REGISTRIES_CONF` set to a world-readable file written for it (so the
   * test user can use it too).
   */
  readonly podmanEnv: Readonly<Record<string, string>>;
  /** The credentials the registry requires, when started with `requireAuth`. */
  readonly credentials?: { readonly user: string; readonly password: string };
  /** Stops the server and removes its storage. */
  stop(): Promise<void>;
}

/** The unprivileged account tests run commands as. */
export interface TestUser {
  /** Login name: `polythene-test`. */
  readonly name: string;
  /** Numeric user id. */
  readonly uid: number;
  /** Numeric primary group id. */
  readonly gid: number;
  /** Home directory, owned by the user. */
  readonly home: string;
}

/** What {@link ensureLargeImage} built: a podman image for benchmarks. */
export interface LargeImage {
  /** `localhost/polythene-test/large:latest`. */
  readonly ref: string;
  /** Regular files in the image, each path counted (hard links count once per path). */
  readonly fileCount: number;
  /** Bytes of regular-file content, each inode counted once. */
  readonly sizeBytes: number;
}

/** The local Debian bookworm minbase image (see `ensureDebianImage`). */
export interface DebianImage {
  /** `localhost/polythene-test/debian:bookworm`, in the current user's podman. */
  readonly ref: string;
  /** The archive it was imported from (numeric owners, modes, `security.capability`); root's cache. */
  readonly tarPath: string;
}

/** Downloaded Debian packages (see `ensureDebCache`). */
export interface DebCache {
  /** Directory holding exactly the `.deb` files below (world-readable). */
  readonly dir: string;
  /** The `.deb` file names, sorted: the requested packages and their `Depends` closure. */
  readonly files: readonly string[];
}

/** A flat APT repository served over HTTP on 127.0.0.1 (see `startAptRepository`). */
export interface AptRepository {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** A sources.list line for it: `deb [trusted=yes] http://127.0.0.1:PORT/ ./`. */
  readonly sourcesLine: string;
  /** Stops the server and removes the repository's directory. */
  stop(): Promise<void>;
}

/** Options for {@link runAsTestUser}. */
export interface RunAsTestUserOptions {
  /** Variables added to the clean base environment ({@link testUserEnv}); these win. */
  readonly env?: Record<string, string>;
  /** Working directory; default the test user's home (readable by it, unlike `/root`). */
  readonly cwd?: string;
  /** Written to the command's stdin. */
  readonly input?: string;
  /** Kill the command (SIGTERM) after this many milliseconds; default no limit. */
  readonly timeoutMs?: number;
  /** Throw when the command fails (non-zero exit, signal, timeout); default `true`, as execa. */
  readonly reject?: boolean;
  /**
   * Run where the kernel refuses new user namespaces (a CI runner with unprivileged user
   * namespaces disabled), simulated per process by nesting user namespaces to the kernel's
   * limit: nothing host-wide changes, so tests running meanwhile are unaffected.
   */
  readonly refuseUserNamespaces?: boolean;
}

/** The outcome of {@link runAsTestUser}. */
export interface RunAsTestUserResult {
  /** Exit code; 128+n when the command died of signal n. */
  readonly exitCode: number;
  /** Captured stdout, final newline stripped. */
  readonly stdout: string;
  /** Captured stderr, final newline stripped. */
  readonly stderr: string;
  /** The signal name (`SIGTERM`, …) when the command was killed by one. */
  readonly signal?: string;
}
