import { readFileSync } from 'node:fs';

/**
 * True when `path` (absolute, without symlinks) lies on a mount with `noexec`, read from
 * `mountinfo` (`/proc/self/mountinfo`'s text by default): proot cannot run a program from
 * there, since its loader maps the program executable. False when it cannot be told.
 */
export function isOnNoexecMount(path: string, mountinfo?: string): boolean {
  let text: string;
  try {
    text = mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false;
  }
  let best: { point: string; options: string } | undefined;
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const point = fields[4]?.replace(/\\([0-7]{3})/g, (_, octal: string) =>
      String.fromCharCode(Number.parseInt(octal, 8)),
    );
    const options = fields[5];
    if (point === undefined || options === undefined || !isUnder(path, point)) continue;
    // The longest mount point holding the path wins; of equal ones, the later (on top).
    if (best === undefined || point.length >= best.point.length) best = { point, options };
  }
  return best?.options.split(',').includes('noexec') ?? false;
}

function isUnder(path: string, point: string): boolean {
  return point === '/' || path === point || path.startsWith(`${point}/`);
}
