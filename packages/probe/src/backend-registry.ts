import { PolytheneError } from '@polythene/errors';
import type { Backend } from './backend.ts';

/**
 * The backends this process knows, in probe order (registration order). Names and aliases
 * are unique and matched case-insensitively, so `bwrap` and `bubblewrap` name one backend.
 */
export interface BackendRegistry {
  /** Adds a backend at the end of the probe order; throws `POLYTHENE_USAGE` on a name clash. */
  register(backend: Backend): void;
  /** Every registered backend, in probe order. */
  list(): readonly Backend[];
  /** The backend a name or alias names, or undefined. */
  get(name: string): Backend | undefined;
  /**
   * The canonical name for a name or alias; throws `POLYTHENE_USAGE` listing the valid names
   * when nothing matches.
   */
  resolveName(name: string): string;
}

// Names end up in `--isolation`, cache keys and messages: keep them to a shell-safe alphabet,
// letters, digits, `.`, `_` and `-`, starting with a letter or digit. Checked with a loop:
// the built-ins are registered on every exec, and compiling the equivalent regular expression
// cost more (0.15 ms) than everything else registration does.
function isValidName(name: string): boolean {
  if (name === '') return false;
  for (let index = 0; index < name.length; index += 1) {
    const char = name[index] as string;
    const isAlphanumeric =
      (char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z') || (char >= '0' && char <= '9');
    if (!isAlphanumeric && (index === 0 || (char !== '.' && char !== '_' && char !== '-'))) {
      return false;
    }
  }
  return true;
}

function normalizeName(name: string): string {
  return name.trim().toLowerCase();
}

/** Creates a registry holding `backends` in that order (built-ins first, by convention). */
export function createRegistry(backends: readonly Backend[] = []): BackendRegistry {
  const ordered: Backend[] = [];
  const byName = new Map<string, Backend>();

  const describeValidNames = (): string => {
    if (ordered.length === 0) return 'no backend is registered';
    return `valid names: ${ordered
      .map((backend) =>
        backend.aliases && backend.aliases.length > 0
          ? `${backend.name} (${backend.aliases.join(', ')})`
          : backend.name,
      )
      .join(', ')}`;
  };

  const registry: BackendRegistry = {
    register(backend) {
      const names = [backend.name, ...(backend.aliases ?? [])];
      for (const name of names) {
        if (typeof name !== 'string' || !isValidName(name)) {
          throw new PolytheneError(
            'POLYTHENE_USAGE',
            `backend name ${JSON.stringify(name)} is not valid: use letters, digits, ".", "_" and "-", starting with a letter or digit`,
          );
        }
      }
      const seen = new Set<string>();
      for (const name of names) {
        const key = normalizeName(name);
        const owner = byName.get(key);
        if (owner !== undefined || seen.has(key)) {
          throw new PolytheneError(
            'POLYTHENE_USAGE',
            `backend name "${name}" is already taken${owner ? ` by backend "${owner.name}"` : ''}: give backend "${backend.name}" another name or alias`,
          );
        }
        seen.add(key);
      }
      for (const key of seen) byName.set(key, backend);
      ordered.push(backend);
    },
    list() {
      return [...ordered];
    },
    get(name) {
      return byName.get(normalizeName(name));
    },
    resolveName(name) {
      const backend = byName.get(normalizeName(name));
      if (backend === undefined) {
        throw new PolytheneError(
          'POLYTHENE_USAGE',
          `unknown backend "${name}": ${describeValidNames()}`,
        );
      }
      return backend.name;
    },
  };
  for (const backend of backends) registry.register(backend);
  return registry;
}
