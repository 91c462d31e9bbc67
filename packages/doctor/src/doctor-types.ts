/** How one check came out. */
export type CheckState =
  /** What polythene needs is there. */
  | 'ok'
  /** An optional feature is missing, or something works but is not as it should be. */
  | 'warn'
  /** Something the default backend's isolation needs is missing. */
  | 'fail'
  /** A fact, neither good nor bad (a version, a path). */
  | 'info';

/** A way to repair one check. */
export interface DoctorFix {
  /** What the fix does, in one line. */
  readonly summary: string;
  /** The shell commands that apply it, as a person would type them. */
  readonly commands: readonly string[];
  /**
   * Which automatic fix `polythene doctor --fix` applies for it; absent when doctor only
   * prints the commands (installing packages, changing device modes).
   */
  readonly automatic?: AutomaticFix;
}

/** The narrow fixes `--fix` may apply: nothing else is ever changed. */
export type AutomaticFix =
  | { readonly kind: 'apparmor-profile'; readonly binary: string; readonly profileName: string }
  | {
      readonly kind: 'subordinate-ids';
      readonly user: string;
      readonly first: number;
      readonly count: number;
    };

/** One thing doctor looked at. */
export interface DoctorCheck {
  /** Stable machine-readable id, e.g. `userns.max_user_namespaces`. */
  readonly id: string;
  /** Which part of the report it belongs to. */
  readonly group: CheckGroup;
  /** Short human label. */
  readonly title: string;
  readonly state: CheckState;
  /** What was found, one line. */
  readonly detail: string;
  /** How to repair it; only on `warn` and `fail`. */
  readonly fix?: DoctorFix;
}

/** The report's sections, in print order. */
export type CheckGroup =
  | 'user namespaces'
  | 'subordinate ids'
  | 'backends'
  | 'podman'
  | 'cgroups'
  | 'network'
  | 'store';

/** Where doctor reads the host: real paths by default, prepared trees in tests. */
export interface HostPaths {
  /** `/proc/sys`. */
  readonly procSys: string;
  /** `/etc`. */
  readonly etc: string;
  /** `/sys/fs/cgroup`. */
  readonly cgroupRoot: string;
  /** `/proc/self/cgroup`. */
  readonly selfCgroup: string;
  /** `/dev/net/tun`. */
  readonly tunDevice: string;
  /** `/proc/self/status` (capabilities). */
  readonly selfStatus: string;
}

/** The host's own paths. */
export const REAL_HOST_PATHS: HostPaths = {
  procSys: '/proc/sys',
  etc: '/etc',
  cgroupRoot: '/sys/fs/cgroup',
  selfCgroup: '/proc/self/cgroup',
  tunDevice: '/dev/net/tun',
  selfStatus: '/proc/self/status',
};

/** Who doctor checks for. */
export interface DoctorUser {
  readonly uid: number;
  readonly gid: number;
  /** Login name, for `/etc/subuid` and the fixes. */
  readonly name: string;
}
