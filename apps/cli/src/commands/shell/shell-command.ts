import { hasErrorCode } from '@polythene/errors';
import type { RawOptions } from '../../normalize-options.ts';
import { stringList } from '../../normalize-options.ts';
import { execCommand } from '../exec/exec-command.ts';

/** The shells `polythene shell` looks for, in order, on the command's PATH in the rootfs. */
export const SHELLS: readonly string[] = ['bash', 'sh'];

/**
 * `polythene shell UUID [-- CMD…]`: `exec --tty --interactive` of the image's shell (bash
 * when the image has it, else sh), or of CMD. Exits as exec does.
 */
export async function shellCommand(
  uuid: string,
  positional: string[],
  options: RawOptions,
): Promise<number> {
  const onTerminal = { ...options, tty: true, interactive: true, '--': [] };
  const command = [...positional.map(String), ...stringList(options['--'], '--')];
  if (command.length > 0) return execCommand(uuid, command, onTerminal);
  for (const [index, shell] of SHELLS.entries()) {
    try {
      return await execCommand(uuid, [shell], onTerminal);
    } catch (error) {
      // The command is looked up before any sandbox starts: a missing shell ran nothing.
      const isLast = index === SHELLS.length - 1;
      if (isLast || !hasErrorCode(error, 'POLYTHENE_COMMAND_NOT_FOUND')) throw error;
    }
  }
  return 127;
}
