import { describe, expect, it } from 'vitest';
import { buildCommandEnvironment, DEFAULT_PATH } from './command-environment.ts';

const base = { imageEnv: [], envFlags: [], hostEnv: {}, home: '/root' };

describe('buildCommandEnvironment', () => {
  it('starts from the image Env and fills PATH and HOME only when missing', () => {
    expect(buildCommandEnvironment({ ...base, imageEnv: ['A=1', 'B=x=y'] })).toEqual({
      A: '1',
      B: 'x=y',
      PATH: DEFAULT_PATH,
      HOME: '/root',
    });
    expect(
      buildCommandEnvironment({ ...base, imageEnv: ['PATH=/bin', 'HOME=/home/app'] }),
    ).toMatchObject({ PATH: '/bin', HOME: '/home/app' });
  });

  it('takes nothing from the host unless a bare --env names it', () => {
    const hostEnv = { GITHUB_TOKEN: 'secret', LD_PRELOAD: '/evil.so', TERM: 'xterm' };
    const env = buildCommandEnvironment({ ...base, hostEnv, envFlags: ['TERM', 'MISSING'] });
    expect(env.TERM).toBe('xterm');
    expect(env).not.toHaveProperty('GITHUB_TOKEN');
    expect(env).not.toHaveProperty('LD_PRELOAD');
    expect(env).not.toHaveProperty('MISSING');
  });

  it('lets --env override the image, last one winning', () => {
    const env = buildCommandEnvironment({
      ...base,
      imageEnv: ['GREETING=hello'],
      envFlags: ['GREETING=hi', 'GREETING=bye', 'EMPTY='],
    });
    expect(env.GREETING).toBe('bye');
    expect(env.EMPTY).toBe('');
  });

  it('refuses a malformed --env with a usage error', () => {
    expect(() => buildCommandEnvironment({ ...base, envFlags: ['=x'] })).toThrow(/--env/);
    expect(() => buildCommandEnvironment({ ...base, envFlags: ['1A=x'] })).toThrow(
      expect.objectContaining({ code: 'POLYTHENE_USAGE' }),
    );
  });
});
