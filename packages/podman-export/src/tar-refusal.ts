import { PolytheneError } from '@polythene/errors';

/** The error that refuses an image archive: `POLYTHENE_EXTRACT_FAILED` naming `reason`. */
export function refuse(reason: string): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_EXTRACT_FAILED',
    `refusing the image archive: ${reason}; the image is malformed or malicious`,
  );
}

/** A member name quoted for a message, cut at 200 characters. */
export function quote(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}
