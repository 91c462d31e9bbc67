import { describe, expect, it } from 'vitest';
import { applyConfigChanges, runtimeConfigOf } from './image-config-changes.ts';

describe('--change instructions on an image config', () => {
  const base = runtimeConfigOf({ env: ['PATH=/bin', 'A=1'], workingDir: '/srv', cmd: ['sh'] });

  it('applies ENV, LABEL, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, VOLUME and STOPSIGNAL in order', () => {
    const config = applyConfigChanges(base, [
      'ENV EXTRA="a b" A=2',
      'ENV OLD legacy form',
      "LABEL team=core 'quoted key'=x",
      'WORKDIR /work',
      'user 1000:1000',
      'CMD ["/bin/echo", "hi"]',
      'ENTRYPOINT /entry --flag',
      'EXPOSE 80 53/udp',
      'VOLUME ["/data"]',
      'STOPSIGNAL SIGINT',
    ]);
    expect(config).toEqual({
      Env: ['PATH=/bin', 'EXTRA=a b', 'A=2', 'OLD=legacy form'],
      Labels: { team: 'core', 'quoted key': 'x' },
      WorkingDir: '/work',
      User: '1000:1000',
      Cmd: ['/bin/echo', 'hi'],
      Entrypoint: ['/bin/sh', '-c', '/entry --flag'],
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Volumes: { '/data': {} },
      StopSignal: 'SIGINT',
    });
    // The input is left as it was.
    expect(base.Env).toEqual(['PATH=/bin', 'A=1']);
  });

  it.each([
    ['RUN apt-get install x', /takes ENV, WORKDIR/],
    ['ENV', /takes ENV, WORKDIR/],
    ['CMD ["unterminated"', /JSON array/],
    ['ENV A="open', /unterminated quote/],
    ['LABEL =x', /KEY=VALUE/],
  ])('refuses %j as a usage error naming the form', (change, message) => {
    expect(() => applyConfigChanges(base, [change])).toThrow(
      expect.objectContaining({ code: 'POLYTHENE_USAGE', message: expect.stringMatching(message) }),
    );
  });
});
