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
});
