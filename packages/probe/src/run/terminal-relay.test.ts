import { describe, expect, it } from 'vitest';
import type { SuperviseOptions } from './supervise-process.ts';
import { relayTerminal, type TerminalHelper, wrapCommandForTerminal } from './terminal-relay.ts';

const helper: TerminalHelper = {
  hostPath: '/opt/polythene/bin/polythene-pty-x64',
  hostDir: '/opt/polythene/bin',
  boxPath: '/dev/.polythene/polythene-pty-x64',
};

const options: SuperviseOptions = {
  backend: 'test',
  file: '/usr/bin/bwrap',
  args: ['--args', '3', '--', '/bin/sh'],
  env: { A: '1' },
  controls: { stdio: 'inherit', killGraceMs: 100, forwardSignals: false },
  interpretExit: () => ({ exitCode: 0, signal: null }),
};

describe('wrapCommandForTerminal', () => {
  it("runs the command behind the helper's inner side, by its path in the box", () => {
    expect(wrapCommandForTerminal(['/bin/sh', '-c', 'tty'], helper)).toEqual([
      '/dev/.polythene/polythene-pty-x64',
      'inner',
      '--',
      '/bin/sh',
      '-c',
      'tty',
    ]);
  });
});

describe('relayTerminal', () => {
  it('puts the relay in front of the backend, with -i only when input is forwarded', () => {
    const relayed = relayTerminal(options, { interactive: true }, helper);
    expect(relayed.file).toBe(helper.hostPath);
    expect(relayed.args).toEqual(['relay', '-i', '--', '/usr/bin/bwrap', ...options.args]);
    expect(relayed.env).toBe(options.env);
    expect(relayTerminal(options, { interactive: false }, helper).args[1]).toBe('--');
  });

  it("finds the backend as the relay's child: here, this process as a child of its parent", () => {
    const relayed = relayTerminal(options, { interactive: false }, helper);
    expect(relayed.findBackendPid?.(process.ppid)).toBeDefined();
    expect(relayed.findBackendPid?.(2 ** 22 + 1)).toBeUndefined();
  });
});
