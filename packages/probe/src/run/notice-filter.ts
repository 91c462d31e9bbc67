// A backend's notices are short lines, and few: longer lines are the command's own output.
const maxNoticeLineLength = 4096;
const maxNoticesLength = 64 * 1024;

/** Holds a backend's own notice lines back from the command's stderr; see {@link createNoticeFilter}. */
export interface NoticeFilter {
  /** Takes the next chunk of the backend process's stderr. */
  push(chunk: Buffer): void;
  /** Passes on what is left and returns the notices held back. */
  finish(): Buffer;
}

// What `finish` returns on most runs: a backend that had nothing to say.
const noNotices = Buffer.alloc(0);

/**
 * Splits a stderr stream into the backend's own notice lines (held, returned by `finish`) and
 * everything else (passed to `write` as soon as it cannot be the start of a notice). Works on
 * bytes (as latin1 text, one character a byte): the command's output passes unchanged, even
 * when it is not UTF-8.
 */
export function createNoticeFilter(
  prefixes: readonly string[],
  write: (bytes: Buffer) => void,
): NoticeFilter {
  // A backend's notices are short lines, and few: what is longer is the command's own output,
  // and what is held stays bounded whatever the command writes.
  const isNotice = (text: string): boolean =>
    text.length <= maxNoticeLineLength && prefixes.some((prefix) => text.startsWith(prefix));
  const keep = (text: string): void => {
    if (notices.length + text.length <= maxNoticesLength) notices += text;
  };
  const pass = (text: string): void => write(Buffer.from(text, 'latin1'));
  let pending = '';
  let notices = '';
  const drain = (isFinal: boolean): void => {
    for (;;) {
      const newline = pending.indexOf('\n');
      if (newline === -1) break;
      const line = pending.slice(0, newline + 1);
      pending = pending.slice(newline + 1);
      if (isNotice(line)) keep(line);
      else pass(line);
    }
    // A partial line is held only while it could still become a notice.
    const couldBeNotice =
      pending.length <= maxNoticeLineLength &&
      prefixes.some((prefix) => prefix.startsWith(pending) || pending.startsWith(prefix));
    if (pending !== '' && (isFinal || !couldBeNotice)) {
      if (isNotice(pending)) keep(pending);
      else pass(pending);
      pending = '';
    }
  };
  return {
    push(chunk) {
      pending += chunk.toString('latin1');
      drain(false);
    },
    finish() {
      drain(true);
      return notices === '' ? noNotices : Buffer.from(notices, 'latin1');
    },
  };
}
