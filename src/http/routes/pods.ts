import type { Request, ServerRoute } from '@hapi/hapi';
import { CodiusError, codiusError } from '../../domain/errors.js';
import type { ManifestHash, Payment, PodPlan, PodRecord, PodRequest } from '../../domain/types.js';
import {
  checkQuotedManifest,
  MANIFEST_HASH_PATTERN,
  parsePodRequest,
  qualifiedImage,
} from '../../manifest/index.js';
import type { BillingService } from '../../payments/billing.js';
import type { Capacity } from '../../pods/capacity.js';
import type { RegistryPolicy } from '../../runtime/registry-policy.js';
import type { PodManager } from '../../pods/pod-manager.js';

/** What a duration defaults to when the query has none (the original's "3600"). */
export const DEFAULT_DURATION_SECONDS = 3600;

export interface PodRoutesOptions {
  /** CODIUS_PUBLIC_URI: pod URLs are `<hash>.` + its host. */
  publicUri: string;
  quoteMode: 'free' | 'stream';
  maxDurationSeconds: number;
  /** CODIUS_MAX_CONTAINERS: more containers in one manifest is a 400. */
  maxContainers: number;
  /** The longest a payment may take to arrive: the memory held for it lapses after that (and a margin). */
  paymentTimeoutMs?: number;
}

/** Memory held for an upload outlives its payment by this much at most, should its release be missed. */
const HOLD_MARGIN_MS = 60_000;

export interface PodRoutesDependencies {
  pods: Pick<PodManager, 'plan' | 'run' | 'extend' | 'get' | 'manifest' | 'ready' | 'checkStart'>;
  capacity: Pick<Capacity, 'admits' | 'hold' | 'release'>;
  billing: BillingService;
  /** Where images may be pulled from; checked before any money is asked for. */
  registries: RegistryPolicy;
  /** A pod's own ILP balance (base units, with the asset), when pods have accounts. */
  podBalance?: (
    hash: ManifestHash,
  ) => Promise<{ amount: string; assetCode: string; assetScale: number } | null>;
}

/** `https://host:port` → `https://<hash>.host:port/` (WHATWG serialisation, so always a trailing slash). */
export function podUrl(publicUri: string, hash: ManifestHash): string {
  const url = new URL(publicUri);
  url.hostname = `${hash}.${url.hostname}`;
  return url.href;
}

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

/** The `manifestHash` query: required (422 as in the original), well-formed (400); any case accepted. */
function parseHashQuery(raw: unknown): ManifestHash {
  if (raw === undefined || raw === '') throw codiusError('manifest_hash_missing');
  const hash = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (!MANIFEST_HASH_PATTERN.test(hash)) throw codiusError('manifest_hash_malformed');
  return hash;
}

/**
 * The /pods API: quote, upload, extend and query. Everything a client can get wrong —
 * body, manifest, duration, capacity, pod existence — is checked before any money is asked for. The
 * billing service takes the money and sees it booked with what it buys, or kept as credit.
 */
export function podRoutes(options: PodRoutesOptions, deps: PodRoutesDependencies): ServerRoute[] {
  const { pods, capacity, billing, registries } = deps;

  /** Body and duration of OPTIONS and POST: 400 and 415 before anything else. */
  function parseBody(request: Request): { podRequest: PodRequest; duration: number } {
    const podRequest = parsePodRequest(request.payload);
    const count = podRequest.manifest.containers.length;
    if (count > options.maxContainers) {
      throw new CodiusError('too_many_containers', { count, max: options.maxContainers });
    }
    return { podRequest, duration: parseDuration(request.query.duration, options.maxDurationSeconds) };
  }

  /** Every image of the manifest, as it will be pulled, must come from a registry this host may pull from (422). */
  async function checkRegistries(podRequest: PodRequest): Promise<void> {
    for (const image of new Set(podRequest.manifest.containers.map((c) => qualifiedImage(c.image))))
      await registries.check(image);
  }

  /** POST: body, duration, then the whole manifest with its private values (422). */
  function parseUpload(request: Request): { podRequest: PodRequest; duration: number; plan: PodPlan } {
    const { podRequest, duration } = parseBody(request);
    return { podRequest, duration, plan: pods.plan(podRequest) };
  }

  function requireRuntime(): void {
    if (!pods.ready()) throw codiusError('runtime_not_ready');
  }

  function answer(record: PodRecord, payment: Payment): Record<string, string> {
    return {
      url: podUrl(options.publicUri, record.hash),
      manifestHash: record.hash,
      expiry: new Date(record.expiresAt).toISOString(),
      ...(payment.creditUsed > 0n ? { creditUsed: payment.creditUsed.toString() } : {}),
    };
  }

  return [
    {
      method: 'OPTIONS',
      path: '/pods',
      handler: async (request) => {
        const { podRequest, duration } = parseBody(request);
        const manifestHash = checkQuotedManifest(podRequest);
        await checkRegistries(podRequest);
        const { asset, amount } = billing.price(duration);
        // The unreleased CLI learns the host asset from a zero-amount STREAM; the published one cannot pay here.
        if (options.quoteMode === 'stream') await request.payments().collect(0n);
        return { manifestHash, price: amount.toString(), assetCode: asset.code, assetScale: asset.scale };
      },
    },
    {
      method: 'POST',
      path: '/pods',
      handler: async (request) => {
        const { podRequest, duration, plan } = parseUpload(request);
        await checkRegistries(podRequest);
        requireRuntime();
        // A manifest whose pod keeps failing waits before it may pay for another try.
        if (!(await pods.get(plan.hash))) pods.checkStart(plan.hash);
        const memoryMiB = plan.resources.memoryMiB;
        if (!(await capacity.admits(plan.hash, memoryMiB))) throw new CodiusError('host_full', {});
        // The memory is held only as the payment completes (a challenge holds nothing, so unpaid ones
        // cannot fill the host), and one hold at a time, so payers arriving together cannot overcommit it.
        const key = `upload:${request.info.id}`;
        const holdMs = (options.paymentTimeoutMs ?? 120_000) + HOLD_MARGIN_MS;
        try {
          const { result, payment } = await billing.charge(
            plan.hash,
            duration,
            request.payments(),
            (booking) => pods.run(podRequest, duration, booking),
            () => capacity.hold(key, plan.hash, memoryMiB, holdMs),
          );
          return answer(result, payment);
        } finally {
          capacity.release(key);
        }
      },
    },
    {
      method: 'PUT',
      path: '/pods',
      handler: async (request) => {
        // The CLI sends no body; anything else is refused before payment, as the original did.
        const body: unknown = request.payload;
        if (body !== null && body !== undefined) throw new CodiusError('invalid_payload', {});
        const hash = parseHashQuery(request.query.manifestHash);
        const duration = parseDuration(request.query.duration, options.maxDurationSeconds);
        if (!(await pods.get(hash))) throw new CodiusError('pod_not_found', { hash });
        requireRuntime();
        const { result, payment } = await billing.charge(
          hash,
          duration,
          request.payments(),
          async (booking) => {
            const record = await pods.extend(hash, duration, booking);
            // It expired while the money was on its way: billing keeps the payment as credit.
            if (!record) throw new CodiusError('pod_not_found', { hash });
            return record;
          },
        );
        return answer(result, payment);
      },
    },
    {
      method: 'GET',
      path: '/pods',
      handler: async (request) => {
        const hash = parseHashQuery(request.query.manifestHash);
        const record = await pods.get(hash);
        const manifest = record ? await pods.manifest(hash) : undefined;
        if (!record || !manifest) throw new CodiusError('manifest_not_found', { hash });
        const ilpBalance = await deps.podBalance?.(hash);
        return {
          url: podUrl(options.publicUri, hash),
          manifestHash: hash,
          expiry: new Date(record.expiresAt).toISOString(),
          manifest,
          ...(ilpBalance ? { ilpBalance } : {}),
        };
      },
    },
  ];
}
