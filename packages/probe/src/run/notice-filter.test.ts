import { describe, expect, it } from 'vitest';
import { superviseProcess } from './supervise-process.ts';

// The notice filter is internal; drive it through a real child that writes interleaved
// notice and ordinary lines, split across writes, to an inherited stderr.
describe('backend notices on an inherited stderr', () => {
  it('hands notice lines to interpretExit and passes every other line on', async () => {
    const written: string[] = [];
    const originalWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let notices = '';
    try {
      await superviseProcess({
        backend: 'fake',
        file: '/bin/sh',
        args: [
          '-c',
          "exec 1>&2; printf 'keep 1\\nfake in'; sleep 0.05; printf 'fo: pid 7: terminated\\nfak'; sleep 0.05; printf 'e-looking but kept\\nlast without newline'",
        ],
        env: { PATH: '/usr/bin:/bin' },
        controls: { stdio: 'inherit', killGraceMs: 1000, forwardSignals: false } as never,
        backendNoticePrefixes: ['fake info: '],
        interpretExit: (exit) => {
          notices = new TextDecoder().decode(exit.stderr);
          return { exitCode: exit.code, signal: exit.signal };
        },
      });
    } finally {
      process.stderr.write = originalWrite;
    }
    expect(notices).toBe('fake info: pid 7: terminated\n');
    expect(written.join('')).toBe('keep 1\nfake-looking but kept\nlast without newline');
  });
});
