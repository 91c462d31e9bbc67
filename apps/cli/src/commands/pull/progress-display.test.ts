import { describe, expect, it } from 'vitest';
import { createProgressDisplay } from './progress-display.ts';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = {
    isTTY,
    text: '',
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe('pull progress on stderr', () => {
  it('rewrites one line on a terminal and clears it at the end', () => {
    const stream = fakeStream(true);
    const display = createProgressDisplay(stream, false);
    display.update({ phase: 'pull' } as never);
    display.update({ phase: 'extract', bytes: 3 * 1024 * 1024, files: 12 } as never);
    display.finish();
    expect(stream.text).toBe(
      '\r\x1b[2Kpolythene: pull\r\x1b[2Kpolythene: extract 3.0 MiB 12 files\r\x1b[2K',
    );
  });

  it('writes one plain line per phase when stderr is not a terminal', () => {
    const stream = fakeStream(false);
    const display = createProgressDisplay(stream, false);
    for (const phase of ['pull', 'export', 'extract', 'extract', 'cleanup']) {
      display.update({ phase, bytes: 1 } as never);
    }
    display.finish();
    expect(stream.text).toBe(
      'polythene: pull…\npolythene: export…\npolythene: extract…\npolythene: cleanup…\n',
    );
  });

  it('writes nothing when quiet', () => {
    const stream = fakeStream(true);
    const display = createProgressDisplay(stream, true);
    display.update({ phase: 'extract', bytes: 1, files: 1 } as never);
    display.finish();
    expect(stream.text).toBe('');
  });
});
