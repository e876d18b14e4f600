import type { CertificateManager } from '../acme/certificate-manager.js';
import type { TlsMaterial } from '../acme/tls-source.js';
import type { ManifestHash } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { TxtLookup } from './txt-lookup.js';

export interface CustomDomainsOptions {
  /** The public URI's host name: it and its subdomains are the host's own, never custom domains. */
  publicHost: string;
  lookupTxt: TxtLookup;
  /** Whether a pod runs and is paid for now. */
  podServes: (hash: ManifestHash) => boolean;
  /**
   * Settles once `podServes` knows every stored pod (right after a start the pods are still being
   * loaded): a proof is checked only then, so a pod not loaded yet does not fail it.
   */
  podsKnown: () => Promise<void>;
  certificates: Pick<CertificateManager, 'manage' | 'current' | 'release'>;
  /** Most custom domains with certificates per pod. */
  perPod: number;
  /** Most certificate orders for custom domains per hour, host-wide. */
  ordersPerHour: number;
  /** Told of each certificate obtained or loaded for a custom domain (to put it into service). */
  onCertificate?: (name: string, material: TlsMaterial) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

export interface CustomDomains {
  /** The pod a verified custom domain (a Host header) is served for; starts a re-check once it is stale. */
  podFor(host: string | undefined): ManifestHash | null;
  /** Checks the name's `_codius` TXT proof (cached for the record's TTL): its pod, or null. */
  verify(name: string): Promise<ManifestHash | null>;
  /** The name's certificate, obtained the first time (HTTP-01) when its proof names a serving pod. */
  certificateFor(name: string): Promise<TlsMaterial | undefined>;
  /** The verified custom domains of a pod. */
  domainsOf(hash: ManifestHash): string[];
}

interface Proof {
  hash: ManifestHash | null;
  expiresAt: number;
  checking: Promise<ManifestHash | null> | null;
}

const HASH = /^[a-z2-7]{52}$/;
const NAME = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A proof is looked at again at least this often, whatever its TTL says. */
const LONGEST_CACHE_MS = 3_600_000;
const SHORTEST_CACHE_MS = 5_000;
/** A name whose order failed is not ordered again for this long (the CA counts failures too). */
const FAILED_ORDER_PAUSE_MS = 15 * 60_000;

/** A Host header's name: lower case, without port or trailing dot; null if it is not a DNS name. */
export function hostName(host: string | undefined): string | null {
  if (host === undefined) return null;
  const name = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
  return name.length <= 253 && NAME.test(name) ? name : null;
}

/** The limits on custom domain orders: per pod, per hour host-wide, and a pause after a failed one. */
function orderBudget(
  options: Pick<CustomDomainsOptions, 'perPod' | 'ordersPerHour'>,
  now: () => number,
): { refusal(name: string, ofPod: number): string | null; ordered(): void; failed(name: string): void } {
  let orders: number[] = [];
  const failedAt = new Map<string, number>();
  return {
    refusal(name, ofPod) {
      orders = orders.filter((at) => at > now() - 3_600_000);
      if (ofPod >= options.perPod) return `pod has ${ofPod} custom domains (CODIUS_CUSTOM_DOMAINS_PER_POD)`;
      if (orders.length >= options.ordersPerHour) {
        return `${orders.length} custom domain orders this hour (CODIUS_CUSTOM_DOMAIN_ORDERS_PER_HOUR)`;
      }
      if ((failedAt.get(name) ?? 0) > now() - FAILED_ORDER_PAUSE_MS) {
        return 'its last order failed less than 15 minutes ago';
      }
      return null;
    },
    ordered: () => void orders.push(now()),
    failed: (name) => void failedAt.set(name, now()),
  };
}

/**
 * Custom domains of pods: a pod's owner points `app.example.com` at the host and proves the link with
 * `_codius.app.example.com` TXT `<hash>`. A name is served (and its certificate obtained, on first use)
 * only while its proof names a running, paid pod; the proof is checked again after its TTL, and a name
 * whose proof is gone loses its pod and, at renewal, its certificate. Orders are bounded per pod and per
 * hour so that nobody can make the host hammer the CA.
 */
export function createCustomDomains(options: CustomDomainsOptions): CustomDomains {
  const { logger, certificates } = options;
  const now = options.now ?? Date.now;
  const own = options.publicHost.toLowerCase();
  const proofs = new Map<string, Proof>();
  const ordering = new Map<string, Promise<TlsMaterial | undefined>>();
  const certified = new Map<string, ManifestHash>();
  const budget = orderBudget(options, now);

  const isOwn = (name: string): boolean => name === own || name.endsWith(`.${own}`);

  async function check(name: string, proof: Proof): Promise<ManifestHash | null> {
    let hash: ManifestHash | null = null;
    let ttlMs = 60_000;
    try {
      await options.podsKnown();
      const { values, ttlSeconds } = await options.lookupTxt(`_codius.${name}`);
      ttlMs = Math.min(LONGEST_CACHE_MS, Math.max(SHORTEST_CACHE_MS, ttlSeconds * 1000));
      hash =
        values
          .map((value) => value.trim().toLowerCase())
          .find((value) => HASH.test(value) && options.podServes(value)) ?? null;
    } catch (error) {
      logger.warn({ err: error, name }, 'custom domain proof could not be looked up');
      ttlMs = SHORTEST_CACHE_MS;
      hash = proof.hash;
    }
    if (proof.hash !== hash)
      logger.info(
        { name, pod: hash },
        hash ? 'custom domain verified' : 'custom domain not (or no longer) proved',
      );
    if (hash === null && certified.has(name)) {
      certified.delete(name);
      await certificates
        .release(name)
        .catch((error: unknown) => logger.warn({ err: error, name }, 'could not drop a certificate'));
    }
    proof.hash = hash;
    proof.expiresAt = now() + ttlMs;
    return hash;
  }

  function verify(name: string): Promise<ManifestHash | null> {
    let proof = proofs.get(name);
    if (proof && proof.expiresAt > now()) return Promise.resolve(proof.hash);
    if (!proof) {
      proof = { hash: null, expiresAt: 0, checking: null };
      proofs.set(name, proof);
    }
    const current = proof;
    current.checking ??= check(name, current).finally(() => {
      current.checking = null;
    });
    return current.checking;
  }

  async function obtain(name: string): Promise<TlsMaterial | undefined> {
    const hash = await verify(name);
    if (hash === null) return undefined;
    const loaded = certificates.current(name);
    if (!loaded && !certified.has(name)) {
      const ofPod = [...certified.values()].filter((owner) => owner === hash).length;
      const refusal = budget.refusal(name, ofPod);
      if (refusal) {
        logger.warn({ name, pod: hash }, `no certificate ordered for ${name}: ${refusal}`);
        return undefined;
      }
      budget.ordered();
    }
    try {
      const certificate = await certificates.manage({
        name,
        names: [name],
        challenge: 'http-01',
        stillWanted: async () => (await verify(name)) !== null,
      });
      certified.set(name, hash);
      const material = { cert: certificate.certificate, key: certificate.privateKey };
      await options.onCertificate?.(name, material);
      return material;
    } catch (error) {
      budget.failed(name);
      logger.error({ err: error, name }, 'no certificate for the custom domain');
      return undefined;
    }
  }

  return {
    podFor(host) {
      const name = hostName(host);
      if (name === null) return null;
      const proof = proofs.get(name);
      if (!proof?.hash) return null;
      if (proof.expiresAt <= now()) void verify(name);
      return options.podServes(proof.hash) ? proof.hash : null;
    },
    verify(name) {
      const normal = hostName(name);
      return normal === null || isOwn(normal) ? Promise.resolve(null) : verify(normal);
    },
    certificateFor(name) {
      const normal = hostName(name);
      if (normal === null || isOwn(normal) || options.perPod === 0) return Promise.resolve(undefined);
      const current = certificates.current(normal);
      const proof = proofs.get(normal);
      if (current && proof?.hash && proof.expiresAt > now()) {
        return Promise.resolve({ cert: current.certificate, key: current.privateKey });
      }
      let pending = ordering.get(normal);
      if (!pending) {
        pending = obtain(normal).finally(() => ordering.delete(normal));
        ordering.set(normal, pending);
      }
      return pending;
    },
    domainsOf: (hash) =>
      [...proofs]
        .filter(([, proof]) => proof.hash === hash)
        .map(([name]) => name)
        .sort(),
  };
}
