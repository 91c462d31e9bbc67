import { describe, expect, it } from 'vitest';
import { hasErrorCode, isPolytheneError, PolytheneError } from './index.ts';

describe('PolytheneError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('EACCES');
    const error = new PolytheneError('POLYTHENE_STORE_UNAVAILABLE', 'store not writable', {
      cause,
    });
    expect(error.code).toBe('POLYTHENE_STORE_UNAVAILABLE');
    expect(error.message).toBe('store not writable');
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('PolytheneError');
  });

  it('is recognised by brand, also when a second copy of the package made it', () => {
    const foreign = Object.assign(new Error('x'), {
      code: 'POLYTHENE_NO_BACKEND',
      [Symbol.for('polythene.error')]: true,
    });
    expect(isPolytheneError(foreign)).toBe(true);
    expect(hasErrorCode(foreign, 'POLYTHENE_NO_BACKEND')).toBe(true);
    expect(hasErrorCode(foreign, 'POLYTHENE_USAGE')).toBe(false);
  });

  it('rejects look-alikes without the brand', () => {
    expect(isPolytheneError(Object.assign(new Error('x'), { code: 'POLYTHENE_USAGE' }))).toBe(
      false,
    );
    expect(isPolytheneError(null)).toBe(false);
    expect(isPolytheneError('POLYTHENE_USAGE')).toBe(false);
  });
});
