/**
 * Picks the one stderr line worth showing a user: the last `Error:` line (podman), else the
 * first `tar:` line, else the last non-empty line; trimmed to 300 characters. `undefined` when
 * there is nothing.
 */
export function pickUsefulLine(stderr: string): string | undefined {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  const chosen =
    lines.findLast((line) => line.startsWith('Error:')) ??
    // tar's first complaint is the cause; later ones cascade from it.
    lines.find((line) => /^tar: /.test(line) && !/Exiting with failure status/.test(line)) ??
    lines.findLast((line) => /level=(error|fatal)/.test(line)) ??
    lines.at(-1);
  if (chosen === undefined) {
    return undefined;
  }
  const cleaned = chosen.replace(/^Error:\s*/, '');
  return cleaned.length > 300 ? `${cleaned.slice(0, 300)}…` : cleaned;
}
