import { hasErrorCode } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import { availableProbe } from '../test/fake-backend.ts';
import { checkIsolationPolicy, findLostGuarantees } from './isolation-policy.ts';

const prootLike = availableProbe(['proc', 'dev', 'tree-kill'], {
  network: 'proot cannot cut the network',
  pid: 'proot has no pid namespace',
});

describe('findLostGuarantees', () => {
  it('lists every missing guarantee in table order with its reason', () => {
    expect(findLostGuarantees(prootLike)).toEqual([
      { guarantee: 'network', reason: 'proot cannot cut the network' },
      { guarantee: 'pid', reason: 'proot has no pid namespace' },
      { guarantee: 'ipc', reason: 'not enforced by this backend' },
      { guarantee: 'uts', reason: 'not enforced by this backend' },
      { guarantee: 'capabilities', reason: 'not enforced by this backend' },
      { guarantee: 'new-session', reason: 'not enforced by this backend' },
      { guarantee: 'filesystem', reason: 'not enforced by this backend' },
      { guarantee: 'keyring', reason: 'not enforced by this backend' },
      { guarantee: 'ids', reason: 'not enforced by this backend' },
    ]);
  });

  it('only considers the required guarantees', () => {
    expect(findLostGuarantees(prootLike, ['proc', 'network'])).toEqual([
      { guarantee: 'network', reason: 'proot cannot cut the network' },
    ]);
    expect(findLostGuarantees(availableProbe())).toEqual([]);
  });
});

describe('checkIsolationPolicy', () => {
  it('is silent when every guarantee is enforced', () => {
    expect(checkIsolationPolicy(availableProbe(), { strict: true })).toBeUndefined();
  });

  it('warns in one line when guarantees are lost', () => {
    const warning = checkIsolationPolicy(prootLike, { strict: false, backendName: 'proot' });
    expect(warning).toMatch(
      /^warning: proot runs without network \(proot cannot cut the network\), pid/,
    );
    expect(warning).not.toContain('\n');
  });

  it('refuses under strict, naming the missing guarantees', () => {
    let error: unknown;
    try {
      checkIsolationPolicy(prootLike, {
        strict: true,
        backendName: 'proot',
        required: ['network'],
      });
    } catch (caught) {
      error = caught;
    }
    expect(hasErrorCode(error, 'POLYTHENE_SETUP_FAILED')).toBe(true);
    expect((error as Error).message).toBe(
      '--strict refuses proot: it cannot enforce network (proot cannot cut the network); choose a stronger backend with --isolation (see polythene backends) or drop --strict',
    );
  });
});
