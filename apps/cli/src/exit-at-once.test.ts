import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { canExitAtOnce } from './exit-at-once.ts';

describe('canExitAtOnce', () => {
  it('allows a closing process handle and idle stdio streams, nothing else', () => {
    expect(canExitAtOnce(() => [])).toBe(true);
    expect(canExitAtOnce(() => ['ProcessWrap', 'PipeWrap', 'TTYWrap'])).toBe(true);
    expect(canExitAtOnce(() => ['PipeWrap', 'SimpleWriteWrap'])).toBe(false);
    expect(canExitAtOnce(() => ['WriteWrap'])).toBe(false);
    expect(canExitAtOnce(() => ['FSReqCallback'])).toBe(false);
    expect(canExitAtOnce(() => ['Timeout'])).toBe(false);
    expect(canExitAtOnce(undefined)).toBe(false);
  });

  it("sees a write a slow reader has not taken yet in Node's own list", async () => {
    // 1 MB into a pipe nobody reads for a while: Node queues what the pipe cannot take.
    const script = `
      const { canExitAtOnce } = await import(${JSON.stringify(new URL('./exit-at-once.ts', import.meta.url).pathname)});
      const before = canExitAtOnce();
      process.stdout.write('x'.repeat(1 << 20));
      process.stderr.write(JSON.stringify([before, canExitAtOnce()]));
    `;
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        maxBuffer: 4 << 20,
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    // A pipe holds 64 KiB: the rest is queued whether or not this end reads at once.
    await new Promise((resolve) => child.on('close', resolve));
    expect(JSON.parse(stderr)).toEqual([true, false]);
  });
});
