// What may still be open when a command has finished without losing anything if the process
// exits at once: the backend's process handle being closed, and stdio streams with nothing
// queued on them. A queued write (a write request: output a slow reader has not taken yet),
// a file operation or a timer means the process must run until the event loop is empty.
const HARMLESS_RESOURCES: ReadonlySet<string> = new Set(['ProcessWrap', 'PipeWrap', 'TTYWrap']);

/**
 * True when `process.exit` would lose nothing: no write is queued on stdout or stderr (Node
 * writes them synchronously only as far as the pipe or terminal takes the bytes) and nothing
 * else is pending. False where Node cannot say (`getActiveResourcesInfo` is missing).
 */
export function canExitAtOnce(
  activeResources: (() => string[]) | undefined = process.getActiveResourcesInfo,
): boolean {
  if (typeof activeResources !== 'function') return false;
  return activeResources.call(process).every((resource) => HARMLESS_RESOURCES.has(resource));
}
