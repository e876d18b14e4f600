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
 * Opens every log request; if one fails, the ones already open are destroyed so no upstream request is
 * left dangling. Shared by every driver whose runtime serves Docker stdcopy logs over HTTP.
 */
export async function openLogStreams(
  client: UnixHttpClient,
  targets: readonly LogTarget[],
  signal: AbortSignal,
): Promise<ContainerLogSource[]> {
  const sources: ContainerLogSource[] = [];
  try {
    for (const target of targets) {
      const { status, body: frames } = await client.stream({ method: 'GET', path: target.path, signal });
      sources.push({ container: target.container, frames });
      if (status !== 200) throw new RuntimeApiError(status, `logs of container ${target.container} failed`);
    }
  } catch (error) {
    for (const source of sources) source.frames.destroy();
    throw error;
  }
  return sources;
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
