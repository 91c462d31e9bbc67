import { PolytheneError } from '@polythene/errors';

/** PATH for images whose config sets none: the usual Debian root PATH. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Inputs to {@link buildCommandEnvironment}. */
export interface CommandEnvironmentInputs {
  /** The image's `Env` entries (`KEY=VALUE`), as recorded at pull time. */
  readonly imageEnv: readonly string[];
  /** `--env` values: `KEY=VALUE` sets, a bare `KEY` copies the host's value when it has one. */
  readonly envFlags: readonly string[];
  /** The host environment, read only for bare `--env KEY`. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** HOME of the running user inside the rootfs. */
  readonly home: string;
  /** USER/LOGNAME of the running user, when it has a name. */
  readonly userName?: string;
}

/**
 * The command's complete environment: the image's Env, then `--env`; nothing from the host
 * unless named (no tokens, keys or LD_PRELOAD leak in by default). PATH and HOME are filled
 * in when the image does not set them.
 */
export function buildCommandEnvironment(inputs: CommandEnvironmentInputs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of inputs.imageEnv) {
    const { key, value } = splitAssignment(entry);
    if (key !== '' && value !== undefined) env[key] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  env.HOME ??= inputs.home;
  if (inputs.userName !== undefined) {
    env.USER ??= inputs.userName;
    env.LOGNAME ??= inputs.userName;
  }
  for (const flag of inputs.envFlags) {
    const { key, value } = splitAssignment(flag);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `--env ${JSON.stringify(flag)}: expected KEY=VALUE or KEY with KEY a variable name`,
      );
    }
    if (value !== undefined) {
      env[key] = value;
      continue;
    }
    const hostValue = inputs.hostEnv[key];
    if (hostValue !== undefined) env[key] = hostValue;
  }
  return env;
}

function splitAssignment(text: string): { key: string; value: string | undefined } {
  const equals = text.indexOf('=');
  return equals === -1
    ? { key: text, value: undefined }
    : { key: text.slice(0, equals), value: text.slice(equals + 1) };
}
