import { CodiusError, codiusError } from '../domain/errors.js';
import type { Manifest, ManifestHash, Payment, PodRecord, PodRequest } from '../domain/types.js';
import { checkQuotedManifest, qualifiedImage } from '../manifest/index.js';
import type { BillingService, PaymentAttempt } from '../payments/billing.js';
import type { Capacity } from '../pods/capacity.js';
import type { PodManager } from '../pods/pod-manager.js';
import type { RegistryPolicy } from '../runtime/registry-policy.js';

/** Memory held for an upload outlives its payment by this much at most, should its release be missed. */
const HOLD_MARGIN_MS = 60_000;

/** A pod's ILP balance as GET /pods shows it. */
export interface PodBalance {
  amount: string;
  assetCode: string;
  assetScale: number;
}

export interface UploadServiceOptions {
  /** CODIUS_PUBLIC_URI: pod URLs are `<hash>.` + its host. */
  publicUri: string;
  quoteMode: 'free' | 'stream';
  /** CODIUS_MAX_CONTAINERS: more containers in one manifest is refused before anything else. */
  maxContainers: number;
  /** The longest a payment may take to arrive: the memory held for it lapses after that (and a margin). */
  paymentTimeoutMs: number;
}

export interface UploadServiceDependencies {
  pods: Pick<PodManager, 'plan' | 'run' | 'extend' | 'get' | 'manifest' | 'ready' | 'checkStart'>;
  capacity: Pick<Capacity, 'admits' | 'hold' | 'release'>;
  billing: BillingService;
  /** Where images may be pulled from; checked before any money is asked for. */
  registries: RegistryPolicy;
  /** A pod's own ILP balance, when pods have accounts. */
  podBalance?: (hash: ManifestHash) => Promise<PodBalance | null>;
  /** A pod's renewal, when the host renews pods from their tenants' wallets. */
  renewalOf?: (hash: ManifestHash) => Promise<PodRenewal | undefined>;
  /** The pod's verified custom domains, where the host serves them. */
  domainsOf?: (hash: ManifestHash) => string[];
}

/** What a paid upload or extension answers. */
export interface PodAnswer {
  url: string;
  manifestHash: ManifestHash;
  expiry: string;
  creditUsed?: string;
}

export interface PodQuote {
  manifestHash: ManifestHash;
  price: string;
  assetCode: string;
  assetScale: number;
}

/** A pod's renewal from its tenant's wallet, as GET /pods shows it. */
export interface PodRenewal {
  active: boolean;
  nextAt: string | null;
  interval: string;
  walletAddress: string;
}

export interface PodStatus {
  url: string;
  manifestHash: ManifestHash;
  expiry: string;
  manifest: Manifest;
  ilpBalance?: PodBalance;
  renewal?: PodRenewal;
  domains?: string[];
}

/**
 * Quotes, uploads, extensions and queries of pods, each one call that returns a result or throws a coded
 * error: validate (everything a client can get wrong is refused before money is asked for) → price →
 * the payment methods take the money → it is booked exactly once → the pod runs or gets its time → answer.
 */
export interface UploadService {
  quote(request: PodRequest, durationSeconds: number, attempt: PaymentAttempt): Promise<PodQuote>;
  /** `key` names this upload's memory hold (one per request). */
  upload(
    request: PodRequest,
    durationSeconds: number,
    attempt: PaymentAttempt,
    key: string,
  ): Promise<PodAnswer>;
  extend(hash: ManifestHash, durationSeconds: number, attempt: PaymentAttempt): Promise<PodAnswer>;
  status(hash: ManifestHash): Promise<PodStatus>;
}

/** `https://host:port` → `https://<hash>.host:port/` (WHATWG serialisation, so always a trailing slash). */
export function podUrl(publicUri: string, hash: ManifestHash): string {
  const url = new URL(publicUri);
  url.hostname = `${hash}.${url.hostname}`;
  return url.href;
}

export function createUploadService(
  options: UploadServiceOptions,
  deps: UploadServiceDependencies,
): UploadService {
  const { pods, capacity, billing, registries } = deps;

  /** The host's limit on containers: refused (400) before the manifest is even read. */
  function checkContainerCount(request: PodRequest): void {
    const count = request.manifest.containers.length;
    if (count > options.maxContainers) {
      throw new CodiusError('too_many_containers', { count, max: options.maxContainers });
    }
  }

  /** Every image, as it will be pulled, must come from a registry this host may pull from (422). */
  async function checkRegistries(request: PodRequest): Promise<void> {
    for (const image of new Set(request.manifest.containers.map((c) => qualifiedImage(c.image)))) {
      await registries.check(image);
    }
  }

  function requireRuntime(): void {
    if (!pods.ready()) throw codiusError('runtime_not_ready');
  }

  function answer(record: PodRecord, payment: Payment): PodAnswer {
    return {
      url: podUrl(options.publicUri, record.hash),
      manifestHash: record.hash,
      expiry: new Date(record.expiresAt).toISOString(),
      ...(payment.creditUsed > 0n ? { creditUsed: payment.creditUsed.toString() } : {}),
    };
  }

  return {
    async quote(request, durationSeconds, attempt) {
      checkContainerCount(request);
      const manifestHash = checkQuotedManifest(request);
      await checkRegistries(request);
      const { asset, amount } = billing.price(durationSeconds);
      // A client may learn the host's asset from a zero-amount STREAM; the published CLI cannot pay here.
      if (options.quoteMode === 'stream') await billing.handshake(attempt);
      return { manifestHash, price: amount.toString(), assetCode: asset.code, assetScale: asset.scale };
    },

    async upload(request, durationSeconds, attempt, key) {
      checkContainerCount(request);
      const plan = pods.plan(request);
      await checkRegistries(request);
      requireRuntime();
      // A manifest whose pod keeps failing waits before it may pay for another try.
      if (!(await pods.get(plan.hash))) pods.checkStart(plan.hash);
      const memoryMiB = plan.resources.memoryMiB;
      if (!(await capacity.admits(plan.hash, memoryMiB))) throw new CodiusError('host_full', {});
      // The memory is held only as the payment completes (a challenge holds nothing, so unpaid ones
      // cannot fill the host), and one hold at a time, so payers arriving together cannot overcommit it.
      const holdMs = options.paymentTimeoutMs + HOLD_MARGIN_MS;
      try {
        const { result, payment } = await billing.charge(
          {
            hash: plan.hash,
            durationSeconds,
            use: 'upload',
            attempt,
            admit: () => capacity.hold(key, plan.hash, memoryMiB, holdMs),
          },
          (booking) => pods.run(request, durationSeconds, booking),
        );
        return answer(result, payment);
      } finally {
        capacity.release(key);
      }
    },

    async extend(hash, durationSeconds, attempt) {
      if (!(await pods.get(hash))) throw new CodiusError('pod_not_found', { hash });
      requireRuntime();
      const { result, payment } = await billing.charge(
        { hash, durationSeconds, use: 'extend', attempt },
        async (booking) => {
          const record = await pods.extend(hash, durationSeconds, booking);
          // It expired while the money was on its way: billing keeps the payment as credit.
          if (!record) throw new CodiusError('pod_not_found', { hash });
          return record;
        },
      );
      return answer(result, payment);
    },

    async status(hash) {
      const record = await pods.get(hash);
      const manifest = record ? await pods.manifest(hash) : undefined;
      if (!record || !manifest) throw new CodiusError('manifest_not_found', { hash });
      const ilpBalance = await deps.podBalance?.(hash);
      const renewal = await deps.renewalOf?.(hash);
      return {
        url: podUrl(options.publicUri, hash),
        manifestHash: hash,
        expiry: new Date(record.expiresAt).toISOString(),
        manifest,
        ...(ilpBalance ? { ilpBalance } : {}),
        ...(deps.domainsOf ? { domains: deps.domainsOf(hash) } : {}),
        ...(renewal
          ? {
              renewal: {
                active: renewal.active,
                nextAt: renewal.nextAt,
                interval: renewal.interval,
                walletAddress: renewal.walletAddress,
              },
            }
          : {}),
      };
    },
  };
}
