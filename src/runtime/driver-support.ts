import { PassThrough } from 'node:stream';
import type { ContainerLogSource } from './driver.js';
import { RuntimeApiError } from './errors.js';
import type { UnixHttpClient } from './unix-http.js';

/** One container's log endpoint on the runtime's API. */
export interface LogTarget {
  /** Name shown in log lines (the manifest's container id). */
  container: string;
  /** Path and query of the runtime's log request. */
  path: string;
}

/**
 * Opens every log request and returns at once, one source per container: a runtime may send no headers
 * until a container writes its first line (libpod does, when following), and a follower must not wait for
 * that. A request that fails or answers other than 200 ends its source with an error; aborting `signal`
 * ends them all. Shared by every driver whose runtime serves Docker stdcopy logs over HTTP.
 */
export function openLogStreams(
  client: UnixHttpClient,
  targets: readonly LogTarget[],
  signal: AbortSignal,
): ContainerLogSource[] {
  return targets.map((target) => {
    const frames = new PassThrough();
    client.stream({ method: 'GET', path: target.path, signal }).then(
      ({ status, body }) => {
        if (status !== 200) {
          body.destroy();
          frames.destroy(new RuntimeApiError(status, `logs of container ${target.container} failed`));
          return;
        }
        body.once('error', (error) => frames.destroy(error));
        frames.once('close', () => body.destroy());
        body.pipe(frames);
      },
      (error: unknown) => frames.destroy(error instanceof Error ? error : new Error(String(error))),
    );
    return { container: target.container, frames };
  });
}

/**
 * Runs a pod start; when it fails, removes whatever it created (reporting, not throwing, a failed removal)
 * and rethrows the start's error, so a failed start never leaves a pod behind.
 */
export async function removeOnFailure<T>(
  start: () => Promise<T>,
  remove: () => Promise<void>,
  onRemoveFailed: (error: unknown) => void,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    await remove().catch(onRemoveFailed);
    throw error;
  }
}
