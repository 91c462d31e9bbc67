/** The command's outcome: an exit status or the signal that ended it. */
export interface DecodedExit {
  /** Exit status, or null when a signal ended the command. */
  readonly exitCode: number | null;
  /** The signal that ended the command, or null. */
  readonly signal: NodeJS.Signals | null;
}

// Built on first use, from node:os, which exec's start-up never loads otherwise (0.2 ms).
let signalNames: ReadonlyMap<number, NodeJS.Signals> | undefined;

function signalConstants(): typeof import('node:os').constants.signals {
  return process.getBuiltinModule('node:os').constants.signals;
}

/**
 * Decodes the exit status a backend's own supervisor reports for its command. bubblewrap's
 * init, proot and a shell all turn "killed by signal n" into exit status 128+n, so a status
 * above 128 that names a real signal is read as that signal. A command that itself exits
 * with such a status (`exit 143`) is read the same way: the shell convention, and the CLI
 * maps both to the same exit code.
 */
export function decodeExitCode(code: number): DecodedExit {
  if (code > 128) {
    signalNames ??= new Map(
      Object.entries(signalConstants()).map(([name, number]) => [number, name as NodeJS.Signals]),
    );
    const signal = signalNames.get(code - 128);
    if (signal !== undefined) return { exitCode: null, signal };
  }
  return { exitCode: code, signal: null };
}

/** The number of a signal name (`SIGTERM` → 15), or undefined for an unknown name. */
export function getSignalNumber(signal: NodeJS.Signals): number | undefined {
  return signalConstants()[signal];
}
