import { describe, expect, it } from 'vitest';
import { formatForTerminal } from './format-for-terminal.ts';

describe('formatForTerminal', () => {
  it('escapes terminal control sequences and newlines, as ls -b does', () => {
    expect(formatForTerminal('/tmp/\u001b]0;pwned\u0007x')).toBe('/tmp/\\033]0;pwned\\007x');
    expect(formatForTerminal('/a\nD /etc/passwd')).toBe('/a\\012D /etc/passwd');
    expect(formatForTerminal('/c1\u009bq\u007f')).toBe('/c1\\233q\\177');
    expect(formatForTerminal('/rtl\u202egnp.exe')).toBe('/rtl\\u{202e}gnp.exe');
    expect(formatForTerminal('/back\\slash')).toBe('/back\\\\slash');
  });

  it('leaves printable names, non-ASCII letters included, unchanged', () => {
    expect(formatForTerminal('/etc/naïve café/日本')).toBe('/etc/naïve café/日本');
  });
});
