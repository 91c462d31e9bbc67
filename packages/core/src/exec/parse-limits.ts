import { PolytheneError } from '@polythene/errors';

/** The default cap on a run's processes and threads (`POLYTHENE_PIDS_LIMIT`; 0 = none). */
export const DEFAULT_PIDS_LIMIT: number = 4096;

const sizeUnits: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/**
 * A memory size in podman's syntax (`512m`, `1g`, `65536`; units b, k, m, g, any case) or
 * a byte count, to bytes. Throws a usage error naming the valid form.
 */
export function parseMemorySize(value: string | number, flag = '--memory'): number {
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(text);
  const bytes = match
    ? Math.floor(Number(match[1]) * (sizeUnits[(match[2] ?? '').toLowerCase()] ?? 1))
    : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `${flag} ${text}: expected a size such as 512m or 1g (a number with unit b, k, m or g)`,
    );
  }
  return bytes;
}

/** A number of CPUs, a fraction allowed (`0.5`, `2`); must be positive. */
export function parseCpus(value: string | number, flag = '--cpus'): number {
  const text = String(value).trim();
  const cpus = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(cpus > 0) || !Number.isFinite(cpus)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `${flag} ${text}: expected a positive number of CPUs such as 0.5 or 2`,
    );
  }
  return cpus;
}

/** A cap on processes: a whole number, `0` for none. */
export function parsePidsLimit(value: string | number, flag = '--pids-limit'): number {
  const text = String(value).trim();
  const limit = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(limit)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `${flag} ${text}: expected a whole number of processes such as 64 (0: no limit)`,
    );
  }
  return limit;
}

/** Bytes the way `--memory` takes them: `256m`, `1g`, else `12345b`. */
export function formatMemorySize(bytes: number): string {
  for (const unit of ['g', 'm', 'k'] as const) {
    const scale = sizeUnits[unit] ?? 1;
    if (bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return `${bytes}b`;
}
