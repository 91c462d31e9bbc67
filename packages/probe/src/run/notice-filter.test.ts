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

describe('backend notices in captured output', () => {
  const run = (script: string, maxOutputBytes?: number) => {
    let notices = '';
    const result = superviseProcess({
      backend: 'fake',
      file: '/bin/sh',
      args: ['-c', script],
      env: { PATH: '/usr/bin:/bin' },
      controls: {
        stdio: 'pipe',
        killGraceMs: 1000,
        forwardSignals: false,
        ...(maxOutputBytes === undefined ? {} : { maxOutputBytes }),
      } as never,
      backendNoticePrefixes: ['fake info: '],
      interpretExit: (exit) => {
        notices = new TextDecoder().decode(exit.stderr);
        return { exitCode: exit.code, signal: exit.signal };
      },
    });
    return result.then((outcome) => ({ outcome, notices }));
  };

  it('takes notices out before the cap counts, so a capture never holds half of one', async () => {
    const { outcome, notices } = await run(
      "printf 'fake info: pid 7: terminated with signal 9\\n' >&2; printf 'abcdefgh\\n' >&2",
      5,
    );
    expect(notices).toBe('fake info: pid 7: terminated with signal 9\n');
    expect(new TextDecoder().decode(outcome.stderr)).toBe('abcde');
    expect(outcome.stderrTruncated).toBe(true);
  });

  it('passes bytes that are not UTF-8 unchanged', async () => {
    const { outcome } = await run("printf '\\377\\376x\\n' >&2");
    expect([...(outcome.stderr ?? [])]).toEqual([0xff, 0xfe, 0x78, 0x0a]);
  });

  it('holds no more than a short line of what looks like a notice: a long one is output', async () => {
    // 100 000 bytes after a notice prefix and no newline: the command's output, passed on
    // (here: captured), never held whole.
    const { outcome, notices } = await run(
      "printf 'fake info: ' >&2; head -c 100000 /dev/zero | tr '\\0' x >&2",
    );
    expect(notices).toBe('');
    expect(outcome.stderr?.length).toBe(100_011);
  });
});
