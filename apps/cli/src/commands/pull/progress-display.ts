import type { ExportProgress } from '@polythene/podman-export';

/** Renders pull progress on stderr: one rewritten line on a terminal, plain lines elsewhere. */
export interface ProgressDisplay {
  update(event: ExportProgress): void;
  /** Clears the live line (terminal) before the result is printed. */
  finish(): void;
}

const MIB = 1024 * 1024;

/** A display for `stream`; quiet displays nothing. */
export function createProgressDisplay(
  stream: NodeJS.WriteStream,
  isQuiet: boolean,
): ProgressDisplay {
  if (isQuiet) return { update() {}, finish() {} };
  if (!stream.isTTY) {
    // Logs get one line per phase, not a line per chunk.
    let lastPhase: string | undefined;
    return {
      update(event) {
        if (event.phase === lastPhase) return;
        lastPhase = event.phase;
        stream.write(`polythene: ${event.phase}…\n`);
      },
      finish() {},
    };
  }
  let lastDrawMs = 0;
  let lastDrawnPhase: string | undefined;
  let isDrawn = false;
  return {
    update(event) {
      const now = Date.now();
      // A new phase shows at once; updates within one phase at most ten times a second.
      if (event.phase === lastDrawnPhase && now - lastDrawMs < 100) return;
      lastDrawMs = now;
      lastDrawnPhase = event.phase;
      isDrawn = true;
      // Phases without data yet (pull, cleanup) show just their name.
      const bytes = event.bytes ? ` ${(event.bytes / MIB).toFixed(1)} MiB` : '';
      const files = event.files ? ` ${event.files} files` : '';
      stream.write(`\r\x1b[2Kpolythene: ${event.phase}${bytes}${files}`);
    },
    finish() {
      if (isDrawn) stream.write('\r\x1b[2K');
    },
  };
}
