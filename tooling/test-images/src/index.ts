// Contract for the local test fixtures every integration test uses. The bodies are being
// written in this package; signatures are fixed so other packages can code against them.

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
   * `PATH=/usr/local/bin:/usr/bin:/bin`), WorkingDir `/srv/app`, User `1000:1000`,
   * Entrypoint `["/bin/sh","-c"]`, Cmd `["echo configured"]`, and a passwd with
   * `app:x:1000:1000::/home/app:/bin/sh`.
   */
  readonly configured: string;
  /** `localhost/polythene-test/no-shell:latest`: one static binary `/hello`, no `/bin/sh`. */
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
   * only: set `CONTAINERS_REGISTRIES_CONF` to a file written for it.
   */
  readonly podmanEnv: Readonly<Record<string, string>>;
  /** Stops the server and removes its storage. */
  stop(): Promise<void>;
}

/** The unprivileged account tests run commands as. */
export interface TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}
