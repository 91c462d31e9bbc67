import type { Backend } from '@polythene/probe';
import { describe, expect, it } from 'vitest';
import { assertNetworkMode, parsePublish, resolveNetwork } from './resolve-network.ts';

const asUser = { hostEnv: {}, isRoot: false };

describe('resolveNetwork', () => {
  it('defaults to none, reads POLYTHENE_NETWORK, and lets the option win', () => {
    expect(resolveNetwork(asUser)).toEqual({ mode: 'none', publish: [] });
    expect(resolveNetwork({ ...asUser, hostEnv: { POLYTHENE_NETWORK: 'host' } }).mode).toBe('host');
    expect(
      resolveNetwork({ ...asUser, network: 'none', hostEnv: { POLYTHENE_NETWORK: 'host' } }).mode,
    ).toBe('none');
  });

  it('refuses an unknown mode, naming the valid ones and where it came from', () => {
    expect(() => resolveNetwork({ ...asUser, network: 'bridge' })).toThrow(
      '--network "bridge": unknown network mode; use none, host or private',
    );
    expect(() => resolveNetwork({ ...asUser, hostEnv: { POLYTHENE_NETWORK: 'slirp' } })).toThrow(
      /^POLYTHENE_NETWORK "slirp"/,
    );
  });

  it('parses --publish forms and refuses it outside private, naming the mode', () => {
    expect(parsePublish('18080:80')).toEqual({ hostPort: 18080, boxPort: 80, protocol: 'tcp' });
    expect(parsePublish('5353:53/udp')).toEqual({ hostPort: 5353, boxPort: 53, protocol: 'udp' });
    for (const bad of ['80', '1:2:3', 'a:b', '8080:80/sctp', '70000:80', '8080:0', '']) {
      expect(() => parsePublish(bad), bad).toThrow(/HOST_PORT:BOX_PORT\[\/tcp\|udp\]/);
    }
    expect(() => resolveNetwork({ ...asUser, network: 'host', publish: ['8080:80'] })).toThrow(
      '--publish needs --network private (the network mode is host)',
    );
  });

  it('keeps host ports below 1024 for root', () => {
    expect(() => resolveNetwork({ ...asUser, network: 'private', publish: ['80:80'] })).toThrow(
      /below 1024 need root/,
    );
    expect(
      resolveNetwork({ ...asUser, isRoot: true, network: 'private', publish: ['80:80'] }).publish,
    ).toHaveLength(1);
  });
});

describe('assertNetworkMode', () => {
  const backend = (name: string, networkModes?: Backend['networkModes']): Backend => ({
    name,
    description: '',
    ...(networkModes === undefined ? {} : { networkModes }),
    probe: async () => ({ available: false, reason: '' }),
    run: async () => {
      throw new Error('not run');
    },
  });

  it('refuses a mode the backend cannot give with a set-up failure saying why', () => {
    expect(() => assertNetworkMode(backend('proot', ['none', 'host']), 'private')).toThrow(
      expect.objectContaining({
        code: 'POLYTHENE_SETUP_FAILED',
        message: expect.stringMatching(/^--network private: proot makes no namespace/),
      }),
    );
    expect(() => assertNetworkMode(backend('custom'), 'host')).toThrow(/custom gives only none/);
    expect(() =>
      assertNetworkMode(backend('bwrap', ['none', 'host', 'private']), 'private'),
    ).not.toThrow();
  });
});
