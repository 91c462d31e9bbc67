import type { CAC } from 'cac';

/**
 * Parses `argv` (without node and script) with `cli`, after {@link spellOutShortOptions} with
 * the options registered on it. Every cac parse of the CLI goes through here.
 */
export function parseWithCac(cli: CAC, argv: readonly string[]): void {
  const flags = [cli.globalCommand, ...cli.commands].flatMap((command) =>
    command.options.map((option) => option.rawName),
  );
  cli.parse(['node', 'polythene', ...spellOutShortOptions(argv, flags)], { run: false });
}

/**
 * Rewrites each short option before `--` to its long name: `-p 8080:80` becomes
 * `--publish 8080:80`, `-p=8080:80` `--publish=8080:80`. `flags` are cac's raw option names
 * (`-p, --publish <value>`); a letter two of them give different long names is left alone.
 *
 * Why: mri, under cac, keeps `-p A --publish B` as `p: 'B', publish: 'A'` and then copies one
 * name's value over the other's, so one value is lost (a repeatable `--publish` binds one port)
 * and of a scalar given both ways the first wins, not the last. Spelled one way, a repeat is a
 * list and the last scalar wins. mri never reads a word starting with `-` as a value, so the
 * rewrite changes no other meaning.
 */
export function spellOutShortOptions(argv: readonly string[], flags: readonly string[]): string[] {
  const longOf = new Map<string, string | undefined>();
  for (const flag of flags) {
    const match = /^-([^-\s,]),\s*(--[^\s,]+)/.exec(flag);
    if (match === null) continue;
    const [, short = '', long] = match;
    longOf.set(short, longOf.has(short) && longOf.get(short) !== long ? undefined : long);
  }
  const dashes = argv.indexOf('--');
  return argv.map((word, index) => {
    if ((dashes !== -1 && index >= dashes) || word.length < 2 || word[0] !== '-') return word;
    if (word[1] === '-' || (word.length > 2 && word[2] !== '=')) return word;
    const long = longOf.get(word.charAt(1));
    return long === undefined ? word : `${long}${word.slice(2)}`;
  });
}
