import type { ServerRoute } from '@hapi/hapi';
import { CodiusError, codiusError } from '../../domain/errors.js';
import type { ManifestHash } from '../../domain/types.js';
import { MANIFEST_HASH_PATTERN, parsePodRequest } from '../../manifest/index.js';
import type { UploadService } from '../../uploads/upload-service.js';

export { podUrl } from '../../uploads/upload-service.js';

/** What a duration defaults to when the query has none ("3600", as Codius clients expect). */
export const DEFAULT_DURATION_SECONDS = 3600;

/** The `duration` query: whole seconds in [1, max], default 3600 (no negative, zero or NaN). */
export function parseDuration(raw: unknown, maxSeconds: number): number {
  if (raw === undefined) return Math.min(DEFAULT_DURATION_SECONDS, maxSeconds);
  const value = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > maxSeconds) {
    const got = typeof raw === 'string' ? JSON.stringify(raw.slice(0, 40)) : 'more than one value';
    throw new CodiusError('invalid_duration', { maxSeconds, got });
  }
  return value;
}

/** The `manifestHash` query: required (422), well-formed (400); any case accepted. */
function parseHashQuery(raw: unknown): ManifestHash {
  if (raw === undefined || raw === '') throw codiusError('manifest_hash_missing');
  const hash = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (!MANIFEST_HASH_PATTERN.test(hash)) throw codiusError('manifest_hash_malformed');
  return hash;
}

/**
 * The /pods API: quote, upload, extend and query. Each route reads what HTTP carries (body, query, the
 * payment attempt) and makes one call to the upload service, whose result or coded error is the answer.
 */
export function podRoutes(options: { maxDurationSeconds: number }, uploads: UploadService): ServerRoute[] {
  const duration = (raw: unknown): number => parseDuration(raw, options.maxDurationSeconds);
  return [
    {
      method: 'OPTIONS',
      path: '/pods',
      handler: async (request) => {
        const podRequest = parsePodRequest(request.payload);
        return uploads.quote(podRequest, duration(request.query.duration), request.paymentAttempt());
      },
    },
    {
      method: 'POST',
      path: '/pods',
      handler: async (request) => {
        const podRequest = parsePodRequest(request.payload);
        const seconds = duration(request.query.duration);
        return uploads.upload(podRequest, seconds, request.paymentAttempt(), `upload:${request.info.id}`);
      },
    },
    {
      method: 'PUT',
      path: '/pods',
      handler: async (request) => {
        // Codius clients send no body; anything else is refused before payment.
        const body: unknown = request.payload;
        if (body !== null && body !== undefined) throw new CodiusError('invalid_payload', {});
        const hash = parseHashQuery(request.query.manifestHash);
        return uploads.extend(hash, duration(request.query.duration), request.paymentAttempt());
      },
    },
    {
      method: 'GET',
      path: '/pods',
      handler: async (request) => uploads.status(parseHashQuery(request.query.manifestHash)),
    },
  ];
}
