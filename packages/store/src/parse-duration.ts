import { PolytheneError } from '@polythene/errors';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const WHOLE_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART_PATTERN = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/**
 * Parses a duration such as `7d`, `12h`, `30m`, `45s`, `500ms`, `2w` or a sum like `1h30m`
 * into milliseconds. A bare number has no unit and is refused (`POLYTHENE_USAGE`).
 */
export function parseDuration(text: string): number {
  if (!WHOLE_PATTERN.test(text)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `invalid duration ${JSON.stringify(text.slice(0, 64))}: use a number with a unit (ms, s, m, h, d, w), e.g. 7d, 12h, 1h30m`,
    );
  }
  let totalMs = 0;
  for (const match of text.matchAll(PART_PATTERN)) {
    totalMs += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
  }
  if (!Number.isSafeInteger(Math.round(totalMs))) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `duration ${JSON.stringify(text.slice(0, 64))} is too large: use a smaller value`,
    );
  }
  return Math.round(totalMs);
}
