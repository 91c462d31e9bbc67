import { execa } from 'execa';

/** Containers (any state) carrying the Polythene pull label in the current user's podman. */
export async function listLabelledContainers(): Promise<
  Array<{ Id: string; Labels: Record<string, string> }>
> {
  const { stdout } = await execa('podman', [
    'container',
    'ls',
    '--all',
    '--filter',
    'label=io.polythene.pull',
    '--format',
    'json',
  ]);
  return JSON.parse(stdout || '[]');
}

/** Containers labelled by pulls of this process (other test files may pull concurrently). */
export async function listOwnContainers(): Promise<string[]> {
  return (await listLabelledContainers())
    .filter((container) => container.Labels['io.polythene.owner-pid'] === String(process.pid))
    .map((container) => container.Id);
}

/** Child processes of this process still running `podman` or `tar`. */
export async function listOwnChildren(): Promise<string[]> {
  const { stdout } = await execa('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], {
    reject: false,
  });
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /\b(podman|tar)\b/.test(line));
}
