import { readFileSync } from 'node:fs';
import { PolytheneError } from '@polythene/errors';
import type { ResolveInRoot } from './root-view.ts';

/** The user a command runs as, looked up in the rootfs's own account files. */
export interface RootfsUser {
  readonly uid: number;
  readonly gid: number;
  /** Home directory from the rootfs's passwd, else `/`. */
  readonly home: string;
  /** Login name, when passwd knows the uid. */
  readonly name: string | undefined;
}

interface AccountLine {
  readonly name: string;
  readonly id: number;
  readonly gid: number;
  readonly home: string;
}

/**
 * Resolves `USER[:GROUP]` (names or numbers; default root) against the rootfs's
 * `/etc/passwd` and `/etc/group`, read as if chrooted so a symlinked passwd cannot point at
 * the host's.
 */
export async function resolveRootfsUser(
  resolveInRoot: ResolveInRoot,
  spec: string | undefined,
): Promise<RootfsUser> {
  const [userPart = '', groupPart] = (spec === undefined || spec === '' ? '0' : spec).split(':', 2);
  const passwd = await readAccountFile(resolveInRoot, '/etc/passwd', 'passwd');
  const entry = isDecimal(userPart)
    ? passwd.find((line) => line.id === Number(userPart))
    : passwd.find((line) => line.name === userPart);
  if (entry === undefined && !isDecimal(userPart)) {
    throw new PolytheneError(
      'POLYTHENE_USAGE',
      `--user ${userPart}: no such user in the rootfs's /etc/passwd (use a numeric uid)`,
    );
  }
  const uid = entry?.id ?? Number(userPart);
  let gid = entry?.gid ?? uid;
  if (groupPart !== undefined && groupPart !== '') {
    if (isDecimal(groupPart)) {
      gid = Number(groupPart);
    } else {
      const groups = await readAccountFile(resolveInRoot, '/etc/group', 'group');
      const group = groups.find((line) => line.name === groupPart);
      if (group === undefined) {
        throw new PolytheneError(
          'POLYTHENE_USAGE',
          `--user ${spec}: no such group ${groupPart} in the rootfs's /etc/group (use a numeric gid)`,
        );
      }
      gid = group.id;
    }
  }
  return { uid, gid, home: entry?.home || '/', name: entry?.name };
}

async function readAccountFile(
  resolveInRoot: ResolveInRoot,
  path: string,
  kind: 'passwd' | 'group',
): Promise<AccountLine[]> {
  let text: string;
  try {
    const hostPath = await resolveInRoot(path);
    if (hostPath === undefined) return [];
    text = readFileSync(hostPath, 'utf8');
  } catch {
    return [];
  }
  const lines: AccountLine[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    const [name, , id, gid, , home] = fields;
    if (name === undefined || id === undefined || !isDecimal(id)) continue;
    lines.push({
      name,
      id: Number(id),
      gid: kind === 'passwd' && gid !== undefined && isDecimal(gid) ? Number(gid) : Number(id),
      home: kind === 'passwd' ? (home ?? '/') : '/',
    });
  }
  return lines;
}

// One pattern for every check: each regular-expression literal is compiled on its own.
const decimalPattern = /^\d+$/;

function isDecimal(text: string): boolean {
  return decimalPattern.test(text);
}
