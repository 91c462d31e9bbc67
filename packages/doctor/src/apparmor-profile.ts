/**
 * The AppArmor profile `polythene doctor --fix` installs for a binary that creates the box's
 * user namespaces, on hosts that restrict them (Ubuntu 24.04's
 * `kernel.apparmor_restrict_unprivileged_userns=1`). It is the form Ubuntu documents for
 * programs that need user namespaces: the binary stays unconfined (its children keep the
 * capabilities they hold inside their own namespace, which in-box root needs) and gains only
 * the `userns` permission. Ubuntu's own `bwrap-userns-restrict` profile is not this form: it
 * strips capabilities from bwrap's children.
 */
export function buildAppArmorProfile(binary: string, profileName: string): string {
  return [
    `# Written by \`polythene doctor --fix\`: lets ${binary} create user namespaces where`,
    '# kernel.apparmor_restrict_unprivileged_userns=1, and confines it no further.',
    'abi <abi/4.0>,',
    'include <tunables/global>',
    '',
    `profile ${profileName} ${binary} flags=(unconfined) {`,
    '  userns,',
    '',
    `  include if exists <local/${profileName}>`,
    '}',
    '',
  ].join('\n');
}

/** The profile name doctor uses for a binary: `polythene-<basename>`. */
export function profileNameFor(binary: string): string {
  const base = binary.split('/').pop() ?? binary;
  return `polythene-${base.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** How a profile text treats a binary's user namespaces. */
export type ProfileVerdict =
  /** The profile attaches to the binary, is unconfined and allows `userns`. */
  | 'allows-userns'
  /** It attaches and allows `userns`, but confines the binary (its children lose capabilities). */
  | 'confining'
  /** It does not attach to the binary, or does not allow `userns`. */
  | 'unrelated';

/**
 * Reads one profile file's text for `binary`. A light reading, not AppArmor's parser: the
 * `profile NAME PATH flags=(…) {` header (or a bare `PATH flags=(…) {`), and a `userns,`
 * rule anywhere in the file.
 */
export function judgeAppArmorProfile(text: string, binary: string): ProfileVerdict {
  const lines = text.split('\n').map((line) => line.replace(/#.*$/, '').trim());
  const header = lines.find((line) => {
    const words = line.split(/\s+/);
    return line.endsWith('{') && (words[0] === binary || words[2] === binary);
  });
  if (header === undefined) return 'unrelated';
  if (!lines.some((line) => /^userns\s*,$/.test(line))) return 'unrelated';
  const flags = /flags\s*=\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  return flags.split(/[\s,]+/).includes('unconfined') ? 'allows-userns' : 'confining';
}
