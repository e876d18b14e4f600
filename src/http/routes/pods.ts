import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';
import type { HostAsset, ManifestHash, Payment, PodPlan, PodRecord, PodRequest } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import {
  buildPodPlan,
  checkQuotedManifest,
  MANIFEST_HASH_PATTERN,
  parsePodRequest,
} from '../../manifest/index.js';
import type { CreditBook } from '../../payments/credits.js';
import { priceFor } from '../../payments/price.js';
import type { Capacity } from '../../pods/capacity.js';
import { PodStartError, type PodManager } from '../../pods/pod-manager.js';
import { ImageUnavailableError } from '../../runtime/errors.js';
import { withManifestErrors } from '../errors.js';

/** What a duration defaults to when the query has none (the original's "3600"). */
export const DEFAULT_DURATION_SECONDS = 3600;

export interface PodRoutesOptions {
  /** CODIUS_PUBLIC_URI: pod URLs are `<hash>.` + its host. */
  publicUri: string;
  quoteMode: 'free' | 'stream';
  maxDurationSeconds: number;
  /** Whole units of the host asset per 2 628 000 s, exact decimal. */
  costPerMonth(): string;
  /** The host asset while connected to the ILP provider. */
  asset(): HostAsset | null;
  logger: Logger;
}

export interface PodRoutesDependencies {
  pods: Pick<PodManager, 'run' | 'extend' | 'get' | 'manifest' | 'ready'>;
  capacity: Pick<Capacity, 'admits'>;
  credits: CreditBook;
}

/** `https://host:port` → `https://<hash>.host:port/` (WHATWG serialisation, so always a trailing slash). */
export function podUrl(publicUri: string, hash: ManifestHash): string {
  const url = new URL(publicUri);
  url.hostname = `${hash}.${url.hostname}`;
  return url.href;
}

/** The `duration` query: whole seconds in [1, max], default 3600 (fixes B3: no negative, zero or NaN). */
export function parseDuration(raw: unknown, maxSeconds: number): number {
  if (raw === undefined) return Math.min(DEFAULT_DURATION_SECONDS, maxSeconds);
  const value = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > maxSeconds) {
    const shown = typeof raw === 'string' ? JSON.stringify(raw.slice(0, 40)) : 'more than one value';
    throw Boom.badRequest(`duration must be a whole number of seconds from 1 to ${maxSeconds}; got ${shown}`);
  }
  return value;
}

/** The `manifestHash` query: required (422 as in the original), well-formed (400); any case accepted. */
function parseHashQuery(raw: unknown): ManifestHash {
  if (raw === undefined || raw === '') throw Boom.badData('manifestHash must be specified');
  const hash = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (!MANIFEST_HASH_PATTERN.test(hash)) {
    throw Boom.badRequest('manifestHash must be a 52-character base32 manifest hash');
  }
  return hash;
}

/** What of a payment that bought nothing is now the manifest's credit, as e.g. `2283106 (XRP, scale 9)`; null when nothing. */
function keptAsCredit(payment: Payment): string | null {
  const kept = payment.received + payment.creditUsed;
  return kept > 0n ? `${kept.toString()} (${payment.asset.code}, scale ${payment.asset.scale})` : null;
}

/**
 * The /pods API (spec §1.3.6, §3): quote, upload, extend and query. Everything a client can get wrong —
 * body, manifest, duration, capacity, pod existence — is checked before any money is asked for (B2); what
 * is paid is booked with the expiry it buys, or kept as the manifest's credit.
 */
export function podRoutes(options: PodRoutesOptions, deps: PodRoutesDependencies): ServerRoute[] {
  const { pods, capacity, credits } = deps;
  const { logger } = options;

  function hostAsset(): HostAsset {
    const asset = options.asset();
    if (!asset) {
      throw Boom.serverUnavailable(
        'This host cannot take payments right now: not connected to its ILP provider (moneyd).',
      );
    }
    return asset;
  }

  /** Body and duration of OPTIONS and POST: 400 and 415 before anything else. */
  function parseBody(request: Request): { podRequest: PodRequest; duration: number } {
    const podRequest = withManifestErrors(() => parsePodRequest(request.payload));
    return { podRequest, duration: parseDuration(request.query.duration, options.maxDurationSeconds) };
  }

  /** POST: body, duration, then the whole manifest with its private values (422). */
  function parseUpload(request: Request): { podRequest: PodRequest; duration: number; plan: PodPlan } {
    const { podRequest, duration } = parseBody(request);
    const plan = withManifestErrors(() => buildPodPlan(podRequest, { publicUri: options.publicUri }));
    return { podRequest, duration, plan };
  }

  function requireRuntime(): void {
    if (!pods.ready())
      throw Boom.serverUnavailable(
        'This host cannot run pods right now: its container runtime is not ready.',
      );
  }

  function answer(record: PodRecord, payment: Payment): Record<string, string> {
    return {
      url: podUrl(options.publicUri, record.hash),
      manifestHash: record.hash,
      expiry: new Date(record.expiresAt).toISOString(),
      ...(payment.creditUsed > 0n ? { creditUsed: payment.creditUsed.toString() } : {}),
    };
  }

  /** Prices `duration`, sets aside the manifest's credit and gets the rest paid; `use` runs with the payment. */
  async function charged<T>(
    request: Request,
    hash: ManifestHash,
    durationSeconds: number,
    use: (payment: Payment) => Promise<T>,
  ): Promise<T> {
    const asset = hostAsset();
    const price = priceFor(options.costPerMonth(), asset.scale, durationSeconds);
    const reservation = await credits.reserve(hash, asset, price);
    try {
      const payment = await request.pay(price - reservation.amount, {
        asset,
        manifestHash: hash,
        creditUsed: reservation.amount,
      });
      return await use(payment);
    } finally {
      // Only after `use` committed the line that spends it (or failed): see CreditBook.
      await reservation.release();
    }
  }

  return [
    {
      method: 'OPTIONS',
      path: '/pods',
      handler: async (request) => {
        const { podRequest, duration } = parseBody(request);
        const manifestHash = withManifestErrors(() => checkQuotedManifest(podRequest));
        const asset = hostAsset();
        // The unreleased CLI learns the host asset from a zero-amount STREAM; the published one cannot pay here.
        if (options.quoteMode === 'stream')
          await request.pay(0n, { asset, manifestHash: null, handshake: true });
        return {
          manifestHash,
          price: priceFor(options.costPerMonth(), asset.scale, duration).toString(),
          assetCode: asset.code,
          assetScale: asset.scale,
        };
      },
    },
    {
      method: 'POST',
      path: '/pods',
      handler: async (request) => {
        const { podRequest, duration, plan } = parseUpload(request);
        if (!(await capacity.admits(plan.hash, plan.resources.memoryMiB))) {
          throw Boom.serverUnavailable('Memory usage exceeded. Send pod request later.');
        }
        requireRuntime();
        return charged(request, plan.hash, duration, async (payment) => {
          try {
            return answer(await pods.run(podRequest, duration, payment), payment);
          } catch (error) {
            if (!(error instanceof PodStartError)) throw error;
            const kept = keptAsCredit(payment);
            const credit = kept
              ? ` The ${kept} paid is kept as credit for this manifest and used by its next upload.`
              : '';
            logger.warn({ hash: plan.hash, err: error.cause }, 'paid pod could not start');
            if (error.cause instanceof ImageUnavailableError) {
              throw Boom.badData(`${error.cause.message}.${credit}`);
            }
            throw Boom.serverUnavailable(`pod could not be started. manifestHash=${plan.hash}.${credit}`);
          }
        });
      },
    },
    {
      method: 'PUT',
      path: '/pods',
      handler: async (request) => {
        // The CLI sends no body; anything else is refused before payment, as the original did.
        const body: unknown = request.payload;
        if (body !== null && body !== undefined) {
          throw Boom.badRequest('Invalid request payload input');
        }
        const hash = parseHashQuery(request.query.manifestHash);
        const duration = parseDuration(request.query.duration, options.maxDurationSeconds);
        if (!(await pods.get(hash))) throw Boom.notFound(`no pod found with id. id=${hash}`);
        requireRuntime();
        return charged(request, hash, duration, async (payment) => {
          const record = await pods.extend(hash, duration, payment);
          if (record) return answer(record, payment);
          // It expired while the money was on its way: the payment became credit.
          const kept = keptAsCredit(payment);
          throw Boom.notFound(
            `no pod found with id. id=${hash}` +
              (kept ? ` (it expired during payment; ${kept} is kept as credit for this manifest)` : ''),
          );
        });
      },
    },
    {
      method: 'GET',
      path: '/pods',
      handler: async (request) => {
        const hash = parseHashQuery(request.query.manifestHash);
        const record = await pods.get(hash);
        const manifest = record ? await pods.manifest(hash) : undefined;
        if (!record || !manifest) throw Boom.notFound(`No manifest with hash of "${hash}"`);
        return {
          url: podUrl(options.publicUri, hash),
          manifestHash: hash,
          expiry: new Date(record.expiresAt).toISOString(),
          manifest,
        };
      },
    },
  ];
}
