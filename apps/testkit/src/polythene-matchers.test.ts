import { expect, it } from 'vitest';
import type { BoxExecResult } from './box-types.ts';
import { installPolytheneMatchers } from './polythene-matchers.ts';

installPolytheneMatchers();

function result(overrides: Partial<BoxExecResult>): BoxExecResult {
  return {
    command: ['/bin/sh', '-c', 'make install'],
    exitCode: 0,
    signal: null,
    timedOut: false,
    stdout: '',
    stderr: '',
    backend: 'bwrap',
    guarantees: [],
    network: 'none',
    durationMs: 5,
    ...overrides,
  };
}

it('toSucceed passes on exit 0 and shows exit code, backend and stderr otherwise', () => {
  expect(result({})).toSucceed();
  expect(() => expect(result({ exitCode: 2, stderr: 'make: *** No rule\n' })).toSucceed()).toThrow(
    'expected the command to succeed, but: command ["/bin/sh","-c","make install"] exited 2 (backend bwrap)\nstderr:\nmake: *** No rule',
  );
  expect(() => expect(result({ exitCode: 124, timedOut: true })).toSucceed()).toThrow(/timed out/);
  expect(() => expect(result({})).not.toSucceed()).toThrow(/to fail, but it succeeded/);
});

it('toFailWith checks the exit code and stderr', () => {
  const failed = result({ exitCode: 3, stderr: 'no such user: bob\n' });
  expect(failed).toFailWith();
  expect(failed).toFailWith(3);
  expect(failed).toFailWith(3, 'no such user');
  expect(failed).toFailWith(3, /user: \w+$/m);
  expect(() => expect(failed).toFailWith(4)).toThrow(/to fail with exit 4, but: .* exited 3/);
  expect(() => expect(failed).toFailWith(3, 'denied')).toThrow(/stderr containing "denied"/);
  expect(() => expect(result({})).toFailWith()).toThrow(/a non-zero exit/);
});

it('says what it expects when given the wrong thing', () => {
  expect(() => expect('text').toSucceed()).toThrow(/expects the result of box.exec/);
});
