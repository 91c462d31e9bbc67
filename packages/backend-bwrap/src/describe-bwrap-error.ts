/**
 * The one line of bwrap's stderr that says why the sandbox could not be set up, without
 * bwrap's own `bwrap: ` prefix (the message it goes into already names bwrap). Undefined
 * stderr means it went to the user's terminal, where they have read it.
 */
export function describeBwrapError(stderr: Uint8Array | undefined): string {
  if (stderr === undefined) return "see bwrap's message above";
  const lines = new TextDecoder()
    .decode(stderr)
    .split('\n')
    .map((text) => text.trim())
    .filter((text) => text !== '' && !isDmesgHint(text));
  // bwrap's own complaint if there is one, else the mount helper's (an overlay that failed).
  const line = lines.filter((text) => text.startsWith('bwrap:')).at(-1) ?? lines.at(-1);
  const reason = line?.replace(/^bwrap:\s*/, '');
  return reason || 'bwrap exited before starting the command';
}

// mount(8)'s second line after a failed mount, which says nothing about this one.
function isDmesgHint(line: string): boolean {
  return line.startsWith('dmesg(1) may have more information');
}
