import { PolytheneError } from '@polythene/errors';
import type { ImageConfig } from '@polythene/host';
import { type PodmanContext, runPodman } from './run-podman.ts';

/** The image's runtime configuration, declared once in `@polythene/host`. */
export type { ImageConfig };

/** What `podman image inspect` says about an image. */
export interface InspectedImage {
  /** The full image id (hex, no `sha256:` prefix). */
  imageId: string;
  /** The manifest digest (`sha256:…`), when podman knows it. */
  digest?: string;
  /** The image's CPU architecture (`amd64`, `arm64`). */
  architecture?: string;
  /** The image's OS (`linux`). */
  os?: string;
  /** When the image was built (RFC 3339). */
  createdAt?: string;
  /** The runtime configuration. */
  config: ImageConfig;
}

function asStrings(value: unknown): string[] | undefined {
  if (typeof value === 'string') {
    return value.length > 0 ? [value] : undefined;
  }
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return value.length > 0 ? value : undefined;
  }
  return undefined;
}

function asText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Parses one element of `podman image inspect --format json` output. */
export function parseInspectOutput(stdout: string, what: string): InspectedImage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw new PolytheneError('POLYTHENE_PULL_FAILED', `${what}: podman printed no JSON`, {
      cause: error,
    });
  }
  const image = (Array.isArray(parsed) ? parsed[0] : undefined) as
    | Record<string, unknown>
    | undefined;
  const imageId = asText(image?.Id);
  if (image === undefined || imageId === undefined) {
    throw new PolytheneError('POLYTHENE_PULL_FAILED', `${what}: podman returned no image id`);
  }
  const config = (image.Config ?? {}) as Record<string, unknown>;
  const result: InspectedImage = { imageId, config: { env: asStrings(config.Env) ?? [] } };
  const optional: Array<[keyof ImageConfig, unknown]> = [
    ['workingDir', asText(config.WorkingDir)],
    ['user', asText(config.User) ?? asText(image.User)],
    ['entrypoint', asStrings(config.Entrypoint)],
    ['cmd', asStrings(config.Cmd)],
  ];
  for (const [key, value] of optional) {
    if (value !== undefined) {
      (result.config as unknown as Record<string, unknown>)[key] = value;
    }
  }
  const digest = asText(image.Digest);
  const architecture = asText(image.Architecture);
  const os = asText(image.Os);
  const createdAt = asText(image.Created);
  if (digest) result.digest = digest;
  if (architecture) result.architecture = architecture;
  if (os) result.os = os;
  if (createdAt) result.createdAt = createdAt;
  return result;
}

/** Runs `podman image inspect` on an image id or name. */
export async function inspectImage(image: string, context: PodmanContext): Promise<InspectedImage> {
  const what = `podman image inspect ${image}`;
  return parseInspectOutput(
    await runPodman(['image', 'inspect', '--format', 'json', image], what, context),
    what,
  );
}
