import { setTimeout as sleep } from 'node:timers/promises';
import { PolytheneError } from '@polythene/errors';

/**
 * Calls `check` every `intervalMs` until it resolves true; throws a `POLYTHENE_TIMEOUT`
 * naming `what` when `timeoutMs` runs out first.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { readonly timeoutMs?: number; readonly intervalMs?: number } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) {
      throw new PolytheneError('POLYTHENE_TIMEOUT', `${what}: not ready after ${timeoutMs} ms`);
    }
    await sleep(Math.min(options.intervalMs ?? 100, Math.max(0, deadline - Date.now())));
  }
}

/**
 * True when `/proc/net/tcp` or `tcp6` text (of the box's network namespace) lists a socket
 * listening (state 0A) on `port`.
 */
export function isListeningIn(procNetTcp: string, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return procNetTcp.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    return local?.endsWith(`:${hexPort}`) === true && fields[3] === '0A';
  });
}
