import { describe, expect, it } from 'vitest';
import { createPodmanEnv } from './create-podman-env.ts';

describe('createPodmanEnv', () => {
  it('sets the podman defaults when they are unset or empty', () => {
    const env = createPodmanEnv({ PATH: '/usr/bin', CONTAINERS_EVENTS_BACKEND: '' });
    expect(env).toEqual({
      PATH: '/usr/bin',
      CONTAINERS_STORAGE_DRIVER: 'vfs',
      CONTAINERS_EVENTS_BACKEND: 'file',
    });
  });

  it('keeps values the caller set, drops undefined entries, and does not touch its input', () => {
    const host = {
      CONTAINERS_STORAGE_DRIVER: 'overlay',
      CONTAINERS_EVENTS_BACKEND: 'journald',
      GONE: undefined,
    };
    const env = createPodmanEnv(host);
    expect(env).toEqual({
      CONTAINERS_STORAGE_DRIVER: 'overlay',
      CONTAINERS_EVENTS_BACKEND: 'journald',
    });
    expect(host).toEqual({
      CONTAINERS_STORAGE_DRIVER: 'overlay',
      CONTAINERS_EVENTS_BACKEND: 'journald',
      GONE: undefined,
    });
  });
});
