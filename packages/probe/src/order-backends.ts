import type { Backend } from './backend.ts';
import type { BackendRegistry } from './backend-registry.ts';

/**
 * The probe order: the preferred backend (a name or alias; throws `POLYTHENE_USAGE` when it
 * is unknown) first, then every other backend in registry order.
 */
export function orderBackends(registry: BackendRegistry, preferred?: string): readonly Backend[] {
  const backends = registry.list();
  if (preferred === undefined || preferred.trim() === '') return backends;
  const preferredName = registry.resolveName(preferred);
  const first = backends.filter((backend) => backend.name === preferredName);
  const rest = backends.filter((backend) => backend.name !== preferredName);
  return [...first, ...rest];
}
