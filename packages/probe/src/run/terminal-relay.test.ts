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
  it('puts the relay in front of the guard and the backend, with -i only when input is forwarded', () => {
    const relayed = relayTerminal(options, { interactive: true }, helper);
    // The backend itself is unchanged: the supervisor starts `relay … -- guard … -- backend`.
    expect(relayed.file).toBe('/usr/bin/bwrap');
    expect(relayed.args).toEqual(options.args);
    expect(relayed.relay).toEqual({ file: helper.hostPath, args: ['relay', '-i'] });
    expect(relayed.env).toBe(options.env);
    expect(relayed.forwardsSignalsItself).toBe(true);
    expect(relayTerminal(options, { interactive: false }, helper).relay?.args).toEqual(['relay']);
  });
});
