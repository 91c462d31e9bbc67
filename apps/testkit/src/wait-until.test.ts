import { describe, expect, it } from 'vitest';
import { isListeningIn, waitUntil } from './wait-until.ts';

const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1`;

describe('isListeningIn', () => {
  it('finds a listening socket by port, in hex', () => {
    expect(isListeningIn(table, 8080)).toBe(true);
  });
  it('ignores a connected (not listening) socket and other ports', () => {
    expect(isListeningIn(table, 8081)).toBe(false);
    expect(isListeningIn(table, 80)).toBe(false);
  });
});

describe('waitUntil', () => {
  it('resolves once the check does', async () => {
    let calls = 0;
    await waitUntil('thing', async () => ++calls === 3, { intervalMs: 1 });
    expect(calls).toBe(3);
  });
  it('throws a timeout naming what it waited for', async () => {
    await expect(
      waitUntil('port 5432', async () => false, { timeoutMs: 20, intervalMs: 5 }),
    ).rejects.toThrow(/port 5432: not ready after 20 ms/);
  });
});
