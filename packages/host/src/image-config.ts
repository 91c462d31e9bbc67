/**
 * The parts of an image's runtime configuration (`podman image inspect` `.Config`) a rootfs
 * user needs: what the exporter reads from podman, the store records in an entry's metadata,
 * and exec applies. Declared once here because the exporter and the store must not depend on
 * each other; both re-export it.
 */
export interface ImageConfig {
  /** `KEY=value` pairs from the image's Env, in image order. */
  env: string[];
  /** The image's WorkingDir, if set. */
  workingDir?: string;
  /** The image's User (`name`, `uid`, `uid:gid`, …), if set. */
  user?: string;
  /** The image's Entrypoint argv, if set. */
  entrypoint?: string[];
  /** The image's Cmd argv, if set. */
  cmd?: string[];
}
