/**
 * A name made by a command or an image (a path in `diff`, a cell in `list`) made safe to
 * print on a terminal, as `ls -b` shows names: control characters (C0, DEL, C1) and Unicode
 * direction overrides as `\ooo` octal or `\u{…}`, a backslash doubled. Printable text,
 * non-ASCII letters included, is unchanged. `--json` prints the exact name instead.
 */
export function formatForTerminal(name: string): string {
  // The common case, a plain name, costs one test.
  if (!unsafe.test(name)) return name;
  return name.replace(unsafeAll, (char) => {
    if (char === '\\') return '\\\\';
    const code = char.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\${code.toString(8).padStart(3, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

// C0 controls, DEL, C1 controls, the bidi embeddings/overrides/isolates (which reorder what
// follows them on screen), and the backslash that escapes the rest.
const unsafePattern =
  '[\\u0000-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\\\]';
const unsafe = new RegExp(unsafePattern);
const unsafeAll = new RegExp(unsafePattern, 'g');
