import { PolytheneError } from '@polythene/errors';

/** The signals that interrupt a long-running command (Ctrl-C, kill, a closed terminal). */
export const INTERRUPT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** An abort controller tripped by the first interrupt signal, and what tripped it. */
export interface Interruption extends Disposable {
  /** Aborts when polythene receives SIGINT, SIGTERM or SIGHUP. */
  readonly signal: AbortSignal;
  /** The signal received, once one was. */
  readonly receivedSignal: NodeJS.Signals | undefined;
}

/**
 * Turns interrupt signals into an AbortSignal for the duration of an operation, so cleanup
 * (podman containers, temporary entries) runs instead of the process dying mid-write.
 * Dispose to restore the default behaviour.
 */
export function listenForInterruption(): Interruption {
  const controller = new AbortController();
  let receivedSignal: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (receivedSignal) return;
    receivedSignal = signal;
    controller.abort(
      new PolytheneError('POLYTHENE_INTERRUPTED', `interrupted by ${signal}; cleaned up`),
    );
  };
  for (const name of INTERRUPT_SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    get receivedSignal() {
      return receivedSignal;
    },
    [Symbol.dispose]() {
      for (const name of INTERRUPT_SIGNALS) process.off(name, onSignal);
    },
  };
}
