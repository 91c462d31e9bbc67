import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { HostPaths } from './doctor-types.ts';

/** A prepared host: the files doctor reads, written under a temporary root. */
export function prepareHost(files: Record<string, string>): HostPaths {
  const root = mkdtempSync(join(tmpdir(), 'doctor-host-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'sys/fs/cgroup'), { recursive: true });
  return {
    procSys: join(root, 'proc/sys'),
    etc: join(root, 'etc'),
    cgroupRoot: join(root, 'sys/fs/cgroup'),
    selfCgroup: join(root, 'proc/self/cgroup'),
    tunDevice: join(root, 'dev/net/tun'),
    selfStatus: join(root, 'proc/self/status'),
  };
}
