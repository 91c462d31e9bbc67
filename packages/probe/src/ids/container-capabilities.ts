import { PolytheneError } from '@polythene/errors';

/**
 * podman 4's `default_capabilities`: what in-box root holds, bounded by its user namespace.
 */
export const CONTAINER_DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

/** Every capability Linux 6.x knows, in bit order (bit n is `KNOWN_CAPABILITIES[n]`). */
export const KNOWN_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** `chown`, `CHOWN`, `cap_chown` → `CAP_CHOWN`; `all` → `ALL`; unknown → POLYTHENE_USAGE. */
export function normalizeCapabilityName(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!KNOWN_CAPABILITIES.includes(full)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `unknown capability ${JSON.stringify(name)}: use a name such as CAP_NET_RAW or NET_RAW (see capabilities(7)), or ALL`,
    );
  }
  return full;
}

/**
 * The capabilities in-box root holds: {@link CONTAINER_DEFAULT_CAPABILITIES}, minus `drop`,
 * plus `add`, applied as podman does (`ALL` in drop empties the set first; `ALL` in add
 * grants every capability; an add wins over a drop of the same name). Sorted by bit.
 */
export function resolveCapabilities(
  add: readonly string[] = [],
  drop: readonly string[] = [],
): string[] {
  const added = add.map(normalizeCapabilityName);
  const dropped = drop.map(normalizeCapabilityName);
  let set = new Set(dropped.includes('ALL') ? [] : CONTAINER_DEFAULT_CAPABILITIES);
  for (const name of dropped) set.delete(name);
  if (added.includes('ALL')) set = new Set(KNOWN_CAPABILITIES);
  for (const name of added) if (name !== 'ALL') set.add(name);
  return KNOWN_CAPABILITIES.filter((name) => set.has(name));
}

/** The capability set `names` (`CAP_*`) as the hex bit mask of /proc/PID/status (`CapEff`). */
export function toCapabilityMask(names: readonly string[]): string {
  let mask = 0n;
  for (const name of names) {
    const bit = KNOWN_CAPABILITIES.indexOf(name);
    if (bit < 0) throw new Error(`unknown capability ${name}`);
    mask |= 1n << BigInt(bit);
  }
  return mask.toString(16);
}
