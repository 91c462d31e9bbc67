/**
 * The line of the set-up script's stderr that says why the sandbox could not be set up:
 * its last, skipping mount(8)'s `dmesg(1) may have more information` hint, which says nothing.
 * Undefined stderr means it went to the user's terminal, where they have read it.
 */
export function describeSetupError(stderr: Uint8Array | undefined): string {
  if (stderr === undefined) return 'see the message above';
  const line = new TextDecoder()
    .decode(stderr)
    .split('\n')
    .map((text) => text.trim())
    .filter((text) => text !== '' && !text.startsWith('dmesg(1) may have more information'))
    .at(-1);
  return line ?? 'the set-up script exited before starting the command';
}
