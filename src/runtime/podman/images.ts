import type { Logger } from '../../logger.js';
import { ImageUnavailableError, RuntimeApiError } from '../errors.js';
import type { RegistryPolicy } from '../registry-policy.js';
import type { LocalImageSource } from '../driver.js';
import { parseJson, type UnixHttpClient, type UnixResponse } from '../unix-http.js';
import { errorMessage, expectStatus, LIBPOD_API, libpodCaller } from './libpod.js';

export interface ImagePuller {
  /** Makes the image available locally; true when it had to be pulled. One pull per reference at a time. */
  pullImage(image: string): Promise<boolean>;
  /** Removes a local image no container uses; what came of it. */
  removeImage(image: string): Promise<'removed' | 'missing' | 'in-use'>;
  /** See PodRuntime.importImage. */
  importImage(source: LocalImageSource): Promise<string>;
}

/**
 * What a client is told about a pull that failed: a short reason, never the registry's raw error, which
 * names addresses and tells an open port from a closed one.
 */
export function shortPullReason(raw: string): string {
  if (/manifest unknown|not found|does not exist|no such image|name unknown/i.test(raw)) {
    return 'not found in its registry';
  }
  if (/unauthorized|denied|authentication required|forbidden/i.test(raw))
    return 'access denied by its registry';
  if (/invalid reference|repository name must|invalid image name|parsing reference/i.test(raw)) {
    return 'not a valid image reference';
  }
  if (/too many requests|rate limit/i.test(raw)) return 'its registry refused for now (rate limited)';
  return 'its registry could not be reached';
}

/** The image side of the Podman driver: existence checks and pulls, with registry failures made plain. */
export function createImagePuller(
  client: UnixHttpClient,
  pullTimeoutMs: number,
  logger: Logger,
  policy?: RegistryPolicy,
): ImagePuller {
  const call = libpodCaller(client);
  /** Pulls in flight by reference, so two pods with one image pull it once. */
  const pulls = new Map<string, Promise<void>>();

  async function imageExists(image: string): Promise<boolean> {
    const response = await call('GET', `/images/${encodeURIComponent(image)}/exists`);
    if (response.status === 204) return true;
    if (response.status === 404) return false;
    // A malformed reference is the manifest's fault, not the runtime's.
    if (response.status === 400 || response.status === 500) {
      throw new ImageUnavailableError(image, shortPullReason(errorMessage(response)));
    }
    expectStatus(response, 'image exists', 204);
    return false;
  }

  async function pull(image: string, mode: 'missing' | 'always'): Promise<void> {
    await policy?.check(image);
    const started = Date.now();
    let response: UnixResponse;
    try {
      response = await call(
        'POST',
        `/images/pull?reference=${encodeURIComponent(image)}&quiet=true&policy=${mode}`,
        undefined,
        pullTimeoutMs,
      );
    } catch (error) {
      if (error instanceof RuntimeApiError && error.status === 0 && /timed out/.test(error.message)) {
        throw new ImageUnavailableError(image, `pull timed out after ${pullTimeoutMs} ms`, { cause: error });
      }
      throw error;
    }
    // The pull endpoint streams: failures after the headers arrive as {"error": ...} in a 200 body.
    const lastLine = response.body.toString('utf8').trim().split('\n').at(-1) ?? '';
    let report: { error?: unknown; id?: unknown } = {};
    try {
      report = JSON.parse(lastLine) as typeof report;
    } catch {
      // Fall through: no id means failure below.
    }
    if (response.status !== 200 || typeof report.error === 'string' || typeof report.id !== 'string') {
      const raw = typeof report.error === 'string' ? report.error : errorMessage(response);
      // The operator sees what the registry said; the client only the short reason.
      logger.warn({ image, registryError: raw }, 'image pull failed');
      throw new ImageUnavailableError(image, shortPullReason(raw));
    }
    logger.info({ image, ms: Date.now() - started }, 'pulled image');
  }

  async function digestOf(reference: string): Promise<string | null> {
    const response = await call('GET', `/images/${encodeURIComponent(reference)}/json`);
    if (response.status === 404) return null;
    expectStatus(response, 'image inspect', 200);
    const digest = (parseJson(response, 'image inspect') as { Digest?: unknown }).Digest;
    return typeof digest === 'string' ? digest : null;
  }

  return {
    async importImage(source) {
      const tagged = `${source.name}:${source.tag}`;
      let digest = await digestOf(tagged);
      if (digest === null) {
        const query = new URLSearchParams({
          reference: tagged,
          changes: `CMD ${JSON.stringify(source.cmd)}`,
        });
        const imported = await client.request({
          method: 'POST',
          path: `${LIBPOD_API}/images/import?${query.toString()}`,
          raw: { body: source.rootfsTar(), contentType: 'application/x-tar' },
          timeoutMs: 300_000,
        });
        expectStatus(imported, 'image import', 200);
        digest = await digestOf(tagged);
        if (digest === null) throw new RuntimeApiError(0, `podman image import: ${tagged} has no digest`);
        logger.info({ image: tagged, digest }, 'imported a local image');
      }
      return `${source.name}@${digest}`;
    },
    async pullImage(image) {
      const stored = await imageExists(image);
      // Podman finds a stored image by its digest under any name, so a manifest could name a public
      // repository and run what the host pulled for someone else. Unless local storage is trusted (dev
      // mode, images codiusd built), the registry must serve this very name and digest: the pull asks it
      // every time (layers already stored are not fetched again).
      const trusted = !policy || policy.trustsLocalStorage(image);
      if (stored && trusted) return false;
      let inFlight = pulls.get(image);
      if (!inFlight) {
        inFlight = pull(image, trusted ? 'missing' : 'always').finally(() => pulls.delete(image));
        pulls.set(image, inFlight);
      }
      await inFlight;
      return !stored;
    },
    async removeImage(image) {
      const response = await call('DELETE', `/images/${encodeURIComponent(image)}`);
      if (response.status === 404) return 'missing';
      if (response.status === 409) return 'in-use';
      expectStatus(response, 'image remove', 200);
      return 'removed';
    },
  };
}
