import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The mirror used when the host's APT sources name none. */
export const defaultDebianMirror = 'http://deb.debian.org/debian';

/**
 * The Debian mirror the host's APT uses for `main`: the first `URIs:` of a deb822
 * `/etc/apt/sources.list.d/*.sources` stanza, or the first `deb URI SUITE main` line of
 * `/etc/apt/sources.list` (or a `.list` file), skipping security and update suites. Falls back
 * to {@link defaultDebianMirror}. `aptDir` is for tests.
 */
export async function readDebianMirror(aptDir = '/etc/apt'): Promise<string> {
  const texts: string[] = [];
  texts.push(await readText(join(aptDir, 'sources.list')));
  const partsDir = join(aptDir, 'sources.list.d');
  const parts = await readdir(partsDir).catch(() => [] as string[]);
  for (const name of parts.sort()) {
    if (name.endsWith('.list') || name.endsWith('.sources')) {
      texts.push(await readText(join(partsDir, name)));
    }
  }
  for (const text of texts) {
    const mirror = findMirror(text);
    if (mirror !== undefined) return mirror;
  }
  return defaultDebianMirror;
}

/** Finds a Debian `main` mirror in one sources file's text (one-line or deb822 format). */
export function findMirror(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (match?.[1] && match[2] && isMainSuite(match[2]) && /\bmain\b/.test(match[3] ?? '')) {
      return match[1].replace(/\/+$/, '');
    }
  }
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim());
      if (match?.[1] && !line.trim().startsWith('#'))
        fields.set(match[1].toLowerCase(), match[2] ?? '');
    }
    const uri = fields.get('uris')?.split(/\s+/)[0];
    const suites = fields.get('suites')?.split(/\s+/) ?? [];
    const isDeb = (fields.get('types') ?? '').split(/\s+/).includes('deb');
    const isEnabled = fields.get('enabled') !== 'no';
    if (
      uri &&
      isDeb &&
      isEnabled &&
      suites.some(isMainSuite) &&
      /\bmain\b/.test(fields.get('components') ?? '')
    ) {
      return uri.replace(/\/+$/, '');
    }
  }
  return undefined;
}

function isMainSuite(suite: string): boolean {
  return /^(bookworm|stable|trixie|bullseye|testing|unstable|sid)$/.test(suite);
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}
