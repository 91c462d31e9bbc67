import { readFileSync } from 'node:fs';

/** A range of subordinate ids from `/etc/subuid` or `/etc/subgid`. */
export interface IdRange {
  /** The first host id of the range. */
  readonly start: number;
  /** How many ids it holds. */
  readonly count: number;
}

/**
 * The first range of `text` (the `/etc/subuid` format, `NAME_OR_UID:START:COUNT` per line)
 * that belongs to `userName` or `uid` and holds at least `minCount` ids, or undefined.
 */
export function parseSubordinateIds(
  text: string,
  userName: string,
  uid: number,
  minCount: number,
): IdRange | undefined {
  for (const line of text.split('\n')) {
    const [owner, startText, countText] = line.trim().split(':');
    if (owner !== userName && owner !== String(uid)) continue;
    const start = Number(startText);
    const count = Number(countText);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0) continue;
    if (count >= minCount) return { start, count };
  }
  return undefined;
}

/** {@link parseSubordinateIds} of the file at `path`; undefined when it cannot be read. */
export function readSubordinateIds(
  path: string,
  userName: string,
  uid: number,
  minCount: number,
): IdRange | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return parseSubordinateIds(text, userName, uid, minCount);
}
