/**
 * Capabilities a root command keeps (Docker's default set minus `mknod` and `sys_chroot`):
 * enough to act as root on the rootfs's own files, nothing that leaves the chroot or touches
 * the host (mount, chroot, devices, modules, raw I/O, ptrace, open_by_handle_at, clock, …).
 */
export const KEPT_CAPABILITIES: readonly string[] = [
  'cap_chown',
  'cap_dac_override',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_net_bind_service',
  'cap_net_raw',
  'cap_audit_write',
  'cap_setfcap',
];

/** Every capability name up to number 40 (Linux 5.9+), in kernel order. */
export const CAPABILITY_NAMES: readonly string[] = [
  'cap_chown',
  'cap_dac_override',
  'cap_dac_read_search',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_linux_immutable',
  'cap_net_bind_service',
  'cap_net_broadcast',
  'cap_net_admin',
  'cap_net_raw',
  'cap_ipc_lock',
  'cap_ipc_owner',
  'cap_sys_module',
  'cap_sys_rawio',
  'cap_sys_chroot',
  'cap_sys_ptrace',
  'cap_sys_pacct',
  'cap_sys_admin',
  'cap_sys_boot',
  'cap_sys_nice',
  'cap_sys_resource',
  'cap_sys_time',
  'cap_sys_tty_config',
  'cap_mknod',
  'cap_lease',
  'cap_audit_write',
  'cap_audit_control',
  'cap_setfcap',
  'cap_mac_override',
  'cap_mac_admin',
  'cap_syslog',
  'cap_wake_alarm',
  'cap_block_suspend',
  'cap_audit_read',
  'cap_perfmon',
  'cap_bpf',
  'cap_checkpoint_restore',
];

/** The capabilities to drop on a kernel whose highest capability number is `lastCap`. */
export function listDroppedCapabilities(lastCap: number): string[] {
  return CAPABILITY_NAMES.slice(0, lastCap + 1).filter((name) => !KEPT_CAPABILITIES.includes(name));
}
