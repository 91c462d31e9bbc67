import { execa } from 'execa';

/** A shell in a detached tmux pane, on a tmux server of its own: a real terminal for tests. */
export interface TmuxPane {
  /** Types `text` and presses Enter. */
  run(text: string): Promise<void>;
  /** Sends tmux key names (`C-c`, `Enter`). */
  keys(...names: string[]): Promise<void>;
  /** What the pane shows now, and its scrollback. */
  capture(): Promise<string>;
  /** Waits until the pane shows text matching `pattern`; throws with what it shows. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The pane's size as `rows cols`, which `stty size` prints. */
  size(): Promise<string>;
  /** Resizes the window (and so the pane). */
  resize(cols: number, rows: number): Promise<void>;
  /** The pid of the pane's shell. */
  shellPid(): Promise<number>;
  /** Stops the tmux server and everything in it. */
  close(): Promise<void>;
}

let serial = 0;

/**
 * Starts `bash --norc --noediting` with the prompt `host$ ` in a `cols`×`rows` pane. Each pane has a tmux
 * server of its own (`-L`), so tests never touch a user's tmux or each other's.
 */
export async function openTmuxPane(cols = 100, rows = 30): Promise<TmuxPane> {
  serial += 1;
  const socket = `polythene-test-${process.pid}-${serial}`;
  const tmux = (...args: string[]) => execa('tmux', ['-L', socket, '-f', '/dev/null', ...args]);
  await tmux(
    'new-session',
    '-d',
    '-c',
    '/',
    '-s',
    'main',
    '-x',
    String(cols),
    '-y',
    String(rows),
    'env',
    'PS1=host$ ',
    'bash',
    '--norc',
    '--noprofile',
    // No readline: it saves the terminal's modes when it starts reading a line and puts them
    // back after it, so a shell that prompts before polythene's helper has restored the
    // terminal (after a kill -9, on a loaded machine) would keep raw mode itself.
    '--noediting',
  );
  await tmux('set-option', '-g', 'history-limit', '5000');
  const capture = async (): Promise<string> =>
    (await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'main')).stdout;
  const pane: TmuxPane = {
    async run(text) {
      await tmux('send-keys', '-t', 'main', '-l', text);
      await tmux('send-keys', '-t', 'main', 'Enter');
    },
    async keys(...names) {
      await tmux('send-keys', '-t', 'main', ...names);
    },
    capture,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await capture();
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) {
          throw new Error(`the pane never showed ${pattern}; it shows:\n${text}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async size() {
      return (await tmux('display-message', '-p', '-t', 'main', '#{pane_height} #{pane_width}'))
        .stdout;
    },
    async resize(newCols, newRows) {
      await tmux('resize-window', '-t', 'main', '-x', String(newCols), '-y', String(newRows));
    },
    async shellPid() {
      return Number((await tmux('display-message', '-p', '-t', 'main', '#{pane_pid}')).stdout);
    },
    async close() {
      await execa('tmux', ['-L', socket, 'kill-server'], { reject: false });
    },
  };
  await pane.waitFor(/host\$ $/m);
  return pane;
}
