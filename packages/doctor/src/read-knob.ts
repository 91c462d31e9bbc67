import { readFileSync } from 'node:fs';

/**
 * The trimmed contents of a kernel knob or small config file, or `undefined` when it does
 * not exist (many knobs exist only on some kernels: Debian's `unprivileged_userns_clone`,
 * Ubuntu's `apparmor_restrict_unprivileged_userns`). Any other error is `undefined` too:
 * doctor reports what it could read.
 */
export function readKnob(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
