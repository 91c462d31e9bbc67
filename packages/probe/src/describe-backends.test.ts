import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableProbe, createFakeBackend } from '../test/fake-backend.ts';
import { createRegistry } from './backend-registry.ts';
import { describeBackends } from './describe-backends.ts';

describe('describeBackends', () => {
  it('describes every backend: available with guarantees, or why not', async () => {
    const registry = createRegistry([
      createFakeBackend(
        'bwrap',
        {
          available: false,
          reason: 'bwrap cannot create a user namespace (max_user_namespaces is 0)',
        },
        { aliases: ['bubblewrap'] },
      ),
      createFakeBackend(
        'proot',
        availableProbe(
          [
            'proc',
            'dev',
            'tree-kill',
            'pid',
            'ipc',
            'uts',
            'capabilities',
            'new-session',
            'filesystem',
            'keyring',
            'ids',
          ],
          {
            network: 'proot cannot cut the network',
          },
        ),
      ),
      createFakeBackend('chroot', {
        available: false,
        reason: 'needs root',
      }),
      createFakeBackend('gone', {
        available: false,
        reason: 'x',
        missing: { tool: 'gone', debianPackage: 'gone-tools' },
      }),
    ]);
    const descriptions = await describeBackends(registry, { isRoot: false, hostEnv: {} });
    expect(descriptions.map((entry) => [entry.name, entry.available, entry.reason])).toEqual([
      ['bwrap', false, 'bwrap cannot create a user namespace (max_user_namespaces is 0)'],
      ['proot', true, undefined],
      ['chroot', false, 'chroot: needs root'],
      ['gone', false, 'gone not found (apt install gone-tools)'],
    ]);
    expect(descriptions[0]?.aliases).toEqual(['bubblewrap']);
    expect(descriptions[1]?.version).toBe('1.0');
    expect(descriptions[1]?.lost).toEqual([
      { guarantee: 'network', reason: 'proot cannot cut the network' },
    ]);
    expect(descriptions[3]?.missing).toEqual({ tool: 'gone', debianPackage: 'gone-tools' });
  });

  it('shows private only where slirp4netns is on PATH, and says why not', async () => {
    const registry = createRegistry([
      createFakeBackend('bwrap', availableProbe(), { networkModes: ['none', 'host', 'private'] }),
      createFakeBackend('proot', availableProbe(), { networkModes: ['none', 'host'] }),
    ]);
    const without = await describeBackends(registry, {
      isRoot: true,
      hostEnv: { PATH: '/nonexistent/polythene-path' },
    });
    expect(without.map((entry) => [entry.name, entry.networkModes])).toEqual([
      ['bwrap', ['none', 'host']],
      ['proot', ['none', 'host']],
    ]);
    expect(without[0]?.networkModesLost).toEqual([
      {
        mode: 'private',
        reason: 'slirp4netns is not on PATH (install the slirp4netns package)',
      },
    ]);
    expect(without[1]?.networkModesLost).toEqual([]);

    const bin = mkdtempSync(join(tmpdir(), 'polythene-describe-slirp-'));
    try {
      writeFileSync(join(bin, 'slirp4netns'), '#!/bin/sh\n');
      chmodSync(join(bin, 'slirp4netns'), 0o755);
      const withSlirp = await describeBackends(registry, { isRoot: true, hostEnv: { PATH: bin } });
      expect(withSlirp[0]?.networkModes).toEqual(['none', 'host', 'private']);
      expect(withSlirp[0]?.networkModesLost).toEqual([]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
