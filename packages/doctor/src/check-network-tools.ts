import { accessSync, constants, statSync } from 'node:fs';
import type { DoctorCheck, HostPaths } from './doctor-types.ts';

/** Inputs of {@link checkNetworkTools}. */
export interface NetworkToolInputs {
  readonly paths: HostPaths;
  /** Where slirp4netns and pasta were found on PATH. */
  readonly slirp4netns: string | undefined;
  readonly pasta: string | undefined;
}

const group = 'network' as const;

/**
 * What a box's own network with outbound access needs: a user-mode stack (slirp4netns or
 * pasta) and a `/dev/net/tun` this user can open. Optional: the default is no network.
 */
export function checkNetworkTools(inputs: NetworkToolInputs): DoctorCheck[] {
  const { tunDevice } = inputs.paths;
  let tun: DoctorCheck;
  try {
    const mode = (statSync(tunDevice).mode & 0o777).toString(8).padStart(4, '0');
    accessSync(tunDevice, constants.R_OK | constants.W_OK);
    tun = {
      id: 'network.tun',
      group,
      title: tunDevice,
      state: 'ok',
      detail: `mode ${mode}, usable`,
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    tun = {
      id: 'network.tun',
      group,
      title: tunDevice,
      state: 'warn',
      detail: code === 'ENOENT' ? 'missing' : 'not readable and writable by this user',
      fix: {
        summary: 'make the tun device usable, as standard hosts have it',
        commands: code === 'ENOENT' ? ['sudo modprobe tun'] : [`sudo chmod 0666 ${tunDevice}`],
      },
    };
  }
  const stack = inputs.slirp4netns ?? inputs.pasta;
  const helper: DoctorCheck =
    stack !== undefined
      ? { id: 'network.stack', group, title: 'user-mode network stack', state: 'ok', detail: stack }
      : {
          id: 'network.stack',
          group,
          title: 'user-mode network stack',
          state: 'warn',
          detail: 'neither slirp4netns nor pasta is installed',
          fix: {
            summary: 'install slirp4netns',
            commands: ['sudo apt-get install -y slirp4netns'],
          },
        };
  return [tun, helper];
}
