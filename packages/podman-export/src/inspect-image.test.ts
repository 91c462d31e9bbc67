import { hasErrorCode } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import { parseInspectOutput } from './inspect-image.ts';

describe('parseInspectOutput', () => {
  it('reads id, digest, platform, creation time and the runtime config', () => {
    const stdout = JSON.stringify([
      {
        Id: 'a'.repeat(64),
        Digest: 'sha256:abc',
        Architecture: 'amd64',
        Os: 'linux',
        Created: '2024-01-02T03:04:05Z',
        Config: {
          Env: ['PATH=/bin', 'A=b=c'],
          WorkingDir: '/srv',
          User: '1000:1000',
          Entrypoint: ['/bin/sh', '-c'],
          Cmd: ['echo hi'],
        },
      },
    ]);
    expect(parseInspectOutput(stdout, 'inspect')).toEqual({
      imageId: 'a'.repeat(64),
      digest: 'sha256:abc',
      architecture: 'amd64',
      os: 'linux',
      createdAt: '2024-01-02T03:04:05Z',
      config: {
        env: ['PATH=/bin', 'A=b=c'],
        workingDir: '/srv',
        user: '1000:1000',
        entrypoint: ['/bin/sh', '-c'],
        cmd: ['echo hi'],
      },
    });
  });

  it('leaves out what the image does not set', () => {
    const parsed = parseInspectOutput(
      JSON.stringify([{ Id: 'b'.repeat(64), Config: { Cmd: null, WorkingDir: '' } }]),
      'x',
    );
    expect(parsed).toEqual({ imageId: 'b'.repeat(64), config: { env: [] } });
  });

  it('fails as PULL_FAILED on output without an image', () => {
    for (const stdout of ['not json', '[]', '[{}]']) {
      try {
        parseInspectOutput(stdout, 'podman image inspect x');
        throw new Error('accepted');
      } catch (error) {
        expect(hasErrorCode(error, 'POLYTHENE_PULL_FAILED')).toBe(true);
      }
    }
  });
});
