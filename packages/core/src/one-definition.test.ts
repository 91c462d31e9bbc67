import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Guards against a constant or a message drifting apart in copies: each lives in one place,
// across every package and app of the workspace.
const workspace = join(import.meta.dirname, '..', '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(
      (entry) => entry.isFile() && /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name),
    )
    .map((entry) => join(entry.parentPath, entry.name));
}

function occurrences(pattern: RegExp): string[] {
  const files = ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(workspace, group)).flatMap((name) => {
      try {
        return sourceFiles(join(workspace, group, name, 'src'));
      } catch {
        return [];
      }
    }),
  );
  return files.flatMap((file) =>
    (readFileSync(file, 'utf8').match(pattern) ?? []).map(() => file.slice(workspace.length + 1)),
  );
}

describe('one definition', () => {
  it('DEFAULT_MAX_OUTPUT_BYTES is defined once (in probe)', () => {
    expect(occurrences(/\bconst DEFAULT_MAX_OUTPUT_BYTES\b/g)).toEqual([
      'packages/probe/src/run/supervised-stdio.ts',
    ]);
  });

  it('the missing-command error is written once', () => {
    expect(occurrences(/No command provided|no command given/gi)).toEqual([
      'packages/probe/src/run/assert-command-given.ts',
    ]);
  });

  it('core depends on no backend package and imports none', () => {
    const manifest = readFileSync(join(workspace, 'packages/core/package.json'), 'utf8');
    expect(manifest).not.toMatch(/backend-(bwrap|proot|chroot)/);
    expect(
      occurrences(/from '@polythene\/backend-[a-z]+'/g).filter((file) =>
        file.startsWith('packages/core/'),
      ),
    ).toEqual([]);
  });
});
