import type { Member } from './tar-header.ts';
import { quote, refuse } from './tar-refusal.ts';

/**
 * What may be written where, member by member: the rules that keep an archive inside its
 * target. It remembers the symlinks the archive has made, since nothing may be written
 * beneath them whatever GNU tar would do with the link.
 */
export class TarMemberPolicy {
  // Paths (normalised) that are symlinks in the tree being built.
  private readonly symlinks = new Set<string>();

  /**
   * The verdict on one member: `pass` it to tar, `drop` it (device nodes and fifos), or
   * `root` (the archive's own root directory, whose metadata the caller owns). Refuses
   * (throws) absolute names, `..`, paths beneath a symlink the archive made, hard links
   * that leave the tree or go through a symlink, and unknown types.
   */
  judge(member: Member): 'pass' | 'drop' | 'root' {
    const parts = normalizeMemberPath(member.path);
    if (parts.length === 0) {
      if (member.type !== '5') {
        throw refuse(`member ${quote(member.path)} names the root but is not a directory`);
      }
      return 'root';
    }
    this.refuseThroughSymlink(parts, member.path);
    switch (member.type) {
      case '0':
      case '\0':
      case '7':
      case '5':
        // A path that was a symlink stays suspect even once replaced: members beneath it are
        // refused, which no legitimate export needs.
        return 'pass';
      case '2':
        if (member.linkPath.length === 0) {
          throw refuse(`symlink ${quote(member.path)} has an empty target`);
        }
        this.symlinks.add(parts.join('/'));
        return 'pass';
      case '1': {
        if (member.linkPath.startsWith('/')) {
          throw refuse(
            `hard link ${quote(member.path)} points to absolute ${quote(member.linkPath)}`,
          );
        }
        const target = normalizeMemberPath(member.linkPath);
        if (target.length === 0) {
          throw refuse(`hard link ${quote(member.path)} points to the root directory`);
        }
        this.refuseThroughSymlink(target, member.linkPath);
        if (this.symlinks.has(target.join('/'))) {
          this.symlinks.add(parts.join('/'));
        }
        return 'pass';
      }
      case '3':
      case '4':
      case '6':
        return 'drop';
      default:
        throw refuse(
          `member ${quote(member.path)} has unsupported type ${JSON.stringify(member.type)}`,
        );
    }
  }

  private refuseThroughSymlink(parts: readonly string[], original: string): void {
    if (this.symlinks.size === 0) {
      return;
    }
    let prefix = '';
    for (let index = 0; index < parts.length - 1; index += 1) {
      prefix = index === 0 ? (parts[0] ?? '') : `${prefix}/${parts[index]}`;
      if (this.symlinks.has(prefix)) {
        throw refuse(`member ${quote(original)} lies beneath symlink ${quote(prefix)}`);
      }
    }
  }
}

/**
 * Splits a member name into components, dropping `.` and empty ones.
 * @throws PolytheneError for absolute names and any `..` component.
 */
export function normalizeMemberPath(name: string): string[] {
  if (name.startsWith('/')) {
    throw refuse(`member ${quote(name)} has an absolute name`);
  }
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw refuse(`member ${quote(name)} climbs out with ".."`);
  }
  return parts;
}
