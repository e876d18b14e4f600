import type { Logger } from '../../logger.js';
import { ImageUnavailableError, RuntimeApiError } from '../errors.js';
import type { UnixResponse } from '../unix-http.js';
import { errorMessage, expectStatus, type LibpodCall } from './libpod.js';

export interface ImagePuller {
  /** Makes the image available locally, pulling it when missing; one pull per reference at a time. */
  pullImage(image: string): Promise<void>;
}

/** The image side of the Podman driver: existence checks and pulls, with registry failures made plain. */
export function createImagePuller(call: LibpodCall, pullTimeoutMs: number, logger: Logger): ImagePuller {
  /** Pulls in flight by reference, so two pods with one image pull it once. */
  const pulls = new Map<string, Promise<void>>();

  async function imageExists(image: string): Promise<boolean> {
    const response = await call('GET', `/images/${encodeURIComponent(image)}/exists`);
    if (response.status === 204) return true;
    if (response.status === 404) return false;
    // A malformed reference is the manifest's fault, not the runtime's.
    if (response.status === 400 || response.status === 500) {
      throw new ImageUnavailableError(image, errorMessage(response));
    }
    expectStatus(response, 'image exists', 204);
    return false;
  }

  async function pull(image: string): Promise<void> {
    const started = Date.now();
    let response: UnixResponse;
    try {
      response = await call(
        'POST',
        `/images/pull?reference=${encodeURIComponent(image)}&quiet=true&policy=missing`,
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
      const reason = typeof report.error === 'string' ? report.error : errorMessage(response);
      throw new ImageUnavailableError(image, reason);
    }
    logger.info({ image, ms: Date.now() - started }, 'pulled image');
  }

  return {
    async pullImage(image) {
      if (await imageExists(image)) return;
      let inFlight = pulls.get(image);
      if (!inFlight) {
        inFlight = pull(image).finally(() => pulls.delete(image));
        pulls.set(image, inFlight);
      }
      await inFlight;
    },
  };
}
