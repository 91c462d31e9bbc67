/** True when `polythene exec ARGV` names a box (`--in`) or `--detach`: {@link execInCommand} runs it. */
export function isExecInBox(argv: readonly string[]): boolean {
  const dashes = argv.indexOf('--');
  const words = dashes === -1 ? argv : argv.slice(0, dashes);
  return words.some((word) => word === '--in' || word.startsWith('--in=') || word === '--detach');
}
