import { PolytheneError } from '@polythene/errors';
import type { ImageConfig } from '@polythene/store';

/** The runtime part of an OCI image config (`config` in the config blob). */
export interface OciRuntimeConfig {
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
  StopSignal?: string;
}

/** The instructions `--change` takes, as `podman commit --change` spells them. */
export const SUPPORTED_CHANGES = [
  'ENV',
  'WORKDIR',
  'USER',
  'ENTRYPOINT',
  'CMD',
  'LABEL',
  'EXPOSE',
  'VOLUME',
  'STOPSIGNAL',
] as const;

/** The entry's recorded config as an OCI runtime config. */
export function runtimeConfigOf(config: ImageConfig | undefined): OciRuntimeConfig {
  const runtime: OciRuntimeConfig = { Env: [...(config?.env ?? [])] };
  if (config?.workingDir) runtime.WorkingDir = config.workingDir;
  if (config?.user) runtime.User = config.user;
  if (config?.entrypoint) runtime.Entrypoint = [...config.entrypoint];
  if (config?.cmd) runtime.Cmd = [...config.cmd];
  return runtime;
}

/**
 * Applies Dockerfile-style edits (`ENV K=v`, `WORKDIR /d`, `CMD ["…"]`, …) to `config`, in
 * order, as `podman import --change` would. An instruction it does not take, or one without
 * its argument, is a usage error naming the ones it takes.
 */
export function applyConfigChanges(
  config: OciRuntimeConfig,
  changes: readonly string[],
): OciRuntimeConfig {
  const result: OciRuntimeConfig = structuredClone(config);
  for (const change of changes) {
    const match = /^\s*([A-Za-z]+)\s+(.*\S)\s*$/s.exec(change);
    const instruction = match?.[1]?.toUpperCase() ?? '';
    const argument = match?.[2] ?? '';
    switch (instruction) {
      case 'ENV':
        for (const [key, value] of keyValuePairs(argument, change)) {
          result.Env = [
            ...(result.Env ?? []).filter((pair) => !pair.startsWith(`${key}=`)),
            `${key}=${value}`,
          ];
        }
        break;
      case 'LABEL':
        result.Labels = {
          ...result.Labels,
          ...Object.fromEntries(keyValuePairs(argument, change)),
        };
        break;
      case 'WORKDIR':
        result.WorkingDir = argument;
        break;
      case 'USER':
        result.User = argument;
        break;
      case 'STOPSIGNAL':
        result.StopSignal = argument;
        break;
      case 'ENTRYPOINT':
        result.Entrypoint = commandForm(argument, change);
        break;
      case 'CMD':
        result.Cmd = commandForm(argument, change);
        break;
      case 'EXPOSE':
        for (const port of splitWords(argument, change)) {
          result.ExposedPorts = {
            ...result.ExposedPorts,
            [port.includes('/') ? port : `${port}/tcp`]: {},
          };
        }
        break;
      case 'VOLUME':
        for (const path of argument.startsWith('[')
          ? jsonArray(argument, change)
          : splitWords(argument, change)) {
          result.Volumes = { ...result.Volumes, [path]: {} };
        }
        break;
      default:
        throw usage(
          `--change ${JSON.stringify(change)}: takes ${SUPPORTED_CHANGES.join(', ')} followed by its value`,
        );
    }
  }
  return result;
}

function usage(message: string): PolytheneError {
  return new PolytheneError('POLYTHENE_USAGE', message);
}

// `K=v K2="a b"`, or the old one-pair form `K value with spaces`.
function keyValuePairs(argument: string, change: string): [string, string][] {
  const words = splitWords(argument, change);
  if (!(words[0] ?? '').includes('=')) {
    const [key = '', ...rest] = argument.split(/\s+/);
    return [[key, argument.slice(key.length).trim() || rest.join(' ')]];
  }
  return words.map((word) => {
    const equals = word.indexOf('=');
    if (equals <= 0) throw usage(`--change ${JSON.stringify(change)}: expected KEY=VALUE pairs`);
    return [word.slice(0, equals), word.slice(equals + 1)];
  });
}

// The exec form (a JSON array) as it is; the shell form through /bin/sh -c.
function commandForm(argument: string, change: string): string[] {
  return argument.startsWith('[') ? jsonArray(argument, change) : ['/bin/sh', '-c', argument];
}

function jsonArray(argument: string, change: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(argument);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string'))
    throw usage(`--change ${JSON.stringify(change)}: expected a JSON array of strings`);
  return parsed;
}

// Words as a Dockerfile splits them: double quotes (with backslash escapes), single quotes
// (literal), and backslash escapes outside quotes.
function splitWords(text: string, change: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index] as string;
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && index + 1 < text.length) {
        index += 1;
        word += text[index];
      } else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === '\\' && index + 1 < text.length) {
      index += 1;
      word += text[index];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote !== undefined) throw usage(`--change ${JSON.stringify(change)}: unterminated quote`);
  if (inWord) words.push(word);
  return words;
}
