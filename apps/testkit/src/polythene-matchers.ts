import { expect } from 'vitest';
import type { Box, BoxExecResult } from './box-types.ts';

/** The matchers {@link installPolytheneMatchers} adds to vitest's `expect`. */
export interface PolytheneMatchers<R = unknown> {
  /**
   * `await expect(box).toHaveFile('/etc/motd')`: the file exists in the box; with `content`,
   * its text equals the string or matches the regular expression. Asynchronous: `await` it.
   */
  toHaveFile(path: string, content?: string | RegExp): Promise<R>;
  /** `expect(result).toSucceed()`: the command exited 0; the failure message shows exit code, stderr and backend. */
  toSucceed(): R;
  /**
   * `expect(result).toFailWith(2, /not found/)`: the command failed, with this exit code
   * (any non-zero when omitted) and stderr containing the string or matching the expression.
   */
  toFailWith(exitCode?: number, stderr?: string | RegExp): R;
}

declare module 'vitest' {
  // Must repeat vitest's own declaration (`T = any`) to merge with it.
  // biome-ignore lint/suspicious/noExplicitAny: the declaration being augmented says `any`
  interface Matchers<T = any> extends PolytheneMatchers<T> {}
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

// Long outputs would bury the point of the message.
const MAX_SHOWN_CHARS = 2_000;

function showText(text: string): string {
  const trimmed = text.length > MAX_SHOWN_CHARS ? `…${text.slice(-MAX_SHOWN_CHARS)}` : text;
  return trimmed.trimEnd() === '' ? '(empty)' : trimmed.trimEnd();
}

function describeRun(result: BoxExecResult): string {
  const ending = result.timedOut
    ? `timed out (exit ${result.exitCode})`
    : result.signal !== null
      ? `was killed by ${result.signal} (exit ${result.exitCode})`
      : `exited ${result.exitCode}`;
  return [
    `command ${JSON.stringify(result.command)} ${ending} (backend ${result.backend})`,
    `stderr:\n${showText(result.stderr)}`,
    `stdout:\n${showText(result.stdout)}`,
  ].join('\n');
}

function isExecResult(value: unknown): value is BoxExecResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BoxExecResult).exitCode === 'number' &&
    typeof (value as BoxExecResult).stderr === 'string' &&
    typeof (value as BoxExecResult).backend === 'string'
  );
}

function isBox(value: unknown): value is Box {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Box).readFile === 'function' &&
    typeof (value as Box).exists === 'function'
  );
}

function matchesText(actual: string, expected: string | RegExp): boolean {
  return typeof expected === 'string' ? actual === expected : expected.test(actual);
}

/** The matcher implementations, for `expect.extend` (use {@link installPolytheneMatchers}). */
export const polytheneMatchers: {
  toHaveFile(received: unknown, path: string, content?: string | RegExp): Promise<MatcherResult>;
  toSucceed(received: unknown): MatcherResult;
  toFailWith(received: unknown, exitCode?: number, stderr?: string | RegExp): MatcherResult;
} = {
  async toHaveFile(received, path, content) {
    if (!isBox(received)) {
      throw new TypeError(
        'toHaveFile expects a box from image.box(): expect(box).toHaveFile(path)',
      );
    }
    if (!(await received.exists(path))) {
      return {
        pass: false,
        message: () => `expected the box to have ${path}, but it does not exist`,
      };
    }
    if (content === undefined) {
      return { pass: true, message: () => `expected the box not to have ${path}, but it exists` };
    }
    const actual = await received.readFile(path);
    const pass = matchesText(actual, content);
    const wanted = typeof content === 'string' ? JSON.stringify(content) : String(content);
    return {
      pass,
      message: () =>
        pass
          ? `expected ${path} in the box not to match ${wanted}, but it does`
          : `expected ${path} in the box to ${typeof content === 'string' ? 'equal' : 'match'} ${wanted}, but it holds:\n${showText(actual)}`,
    };
  },
  toSucceed(received) {
    if (!isExecResult(received)) {
      throw new TypeError(
        'toSucceed expects the result of box.exec(): expect(await box.exec(…)).toSucceed()',
      );
    }
    const pass = received.exitCode === 0 && !received.timedOut;
    return {
      pass,
      message: () =>
        pass
          ? `expected the command to fail, but it succeeded: ${describeRun(received)}`
          : `expected the command to succeed, but: ${describeRun(received)}`,
    };
  },
  toFailWith(received, exitCode, stderr) {
    if (!isExecResult(received)) {
      throw new TypeError(
        'toFailWith expects the result of box.exec(): expect(await box.exec(…)).toFailWith(code)',
      );
    }
    const isCodeRight =
      exitCode === undefined ? received.exitCode !== 0 : received.exitCode === exitCode;
    const isStderrRight =
      stderr === undefined ||
      (typeof stderr === 'string'
        ? received.stderr.includes(stderr)
        : stderr.test(received.stderr));
    const pass = isCodeRight && isStderrRight;
    const wanted = [
      exitCode === undefined ? 'a non-zero exit' : `exit ${exitCode}`,
      ...(stderr === undefined
        ? []
        : [
            `stderr ${typeof stderr === 'string' ? `containing ${JSON.stringify(stderr)}` : `matching ${stderr}`}`,
          ]),
    ].join(' and ');
    return {
      pass,
      message: () =>
        pass
          ? `expected the command not to fail with ${wanted}, but it did: ${describeRun(received)}`
          : `expected the command to fail with ${wanted}, but: ${describeRun(received)}`,
    };
  },
};

/**
 * Adds `toHaveFile`, `toSucceed` and `toFailWith` to vitest's `expect` (idempotent). Call it
 * once in a setup file, or list `@polythene/testkit/matchers` in `setupFiles`;
 * `createPolytheneTest` calls it for you.
 */
export function installPolytheneMatchers(): void {
  expect.extend(polytheneMatchers);
}
