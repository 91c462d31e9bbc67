import { ALL_GUARANTEES, type BackendDescription, type Guarantee } from '@polythene/probe';
import { describe, expect, it } from 'vitest';
import { checkBackends } from './check-backends.ts';

function bwrap(lost: readonly Guarantee[]): BackendDescription {
  return {
    name: 'bwrap',
    aliases: [],
    description: 'bubblewrap',
    available: true,
    reason: undefined,
    missing: undefined,
    version: '0.8.0',
    networkModes: ['none', 'host', 'private'],
    networkModesLost: [],
    guarantees: ALL_GUARANTEES.filter((guarantee) => !lost.includes(guarantee)),
    lost: lost.map((guarantee) => ({ guarantee, reason: 'test' })),
  };
}

function verdict(lost: readonly Guarantee[]) {
  return checkBackends([bwrap(lost)]).find((check) => check.id === 'backend.default');
}

describe('the default-backend verdict', () => {
  it('passes a backend with every required guarantee', () => {
    expect(verdict([])?.state).toBe('ok');
  });

  it('warns, not fails, when only ids is lost (no subordinate range): the box still confines', () => {
    expect(verdict(['ids'])).toMatchObject({ state: 'warn', detail: /^bwrap runs without ids/ });
  });

  it('fails when a confining guarantee is lost, ids or not', () => {
    expect(verdict(['pid', 'ids'])).toMatchObject({
      state: 'fail',
      detail: 'bwrap runs without pid, ids',
    });
  });
});
