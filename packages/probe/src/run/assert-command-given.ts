import { PolytheneError } from '@polythene/errors';

/**
 * The one check for an empty command (the Python tool's wording, which scripts match), shared by exec, `exec --in` and the backends' run-spec
 * check: an empty argv, or an empty command name, throws `POLYTHENE_USAGE` (exit 2) with `usage`, the form to type instead.
 */
export function assertCommandGiven(argv: readonly string[], usage: string): void {
  if (argv.length === 0 || argv[0] === '')
    throw new PolytheneError('POLYTHENE_USAGE', `No command provided: ${usage}`);
}
