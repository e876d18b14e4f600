import type { Logger } from '../logger.js';
import type { PeerRepository } from '../store/repositories/peers.js';
import { isPublicAddress } from '../net/address-policy.js';
import type { PeerClient } from './peer-client.js';
import { createPeerAdmission } from './peer-admission.js';
import { createPeerIntake } from './peer-intake.js';
import { isLiteralAddress, normalizePeerUri, peerHostname } from './peer-uri.js';
import { samplePeers } from './sample.js';

const DAY_MS = 24 * 3600 * 1000;
const REVALIDATION_JITTER_MS = 30 * 60 * 1000;

export interface PeerNetworkOptions {
  store: PeerRepository;
  client: PeerClient;
  logger: Logger;
  /** CODIUS_PUBLIC_URI: announced to peers, and never added as a peer. */
  selfUri: string;
  bootstrap: readonly string[];
  /** Dev mode: http and loopback/private peers are allowed. */
  dev: boolean;
  discoveryIntervalMs: number;
  /** Peers asked per discovery pass. */
  fanout: number;
  /** A peer is dropped once it failed this many times in a row … */
  maxFailures: number;
  /** … and has not answered for at least this long. */
  dropAfterMs: number;
  /** CODIUS_MAX_PEERS: the most peers kept. */
  maxPeers: number;
  now?: () => number;
  random?: () => number;
}

export interface PeerNetwork {
  /** Adds the bootstrap peers and starts discovery and the daily revalidation. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Validates offered peer URIs in the background and adds the good ones. Never throws. */
  offer(uris: readonly unknown[]): void;
  /** One discovery pass (the loop runs these); resolves when it is done. */
  discoverOnce(): Promise<void>;
  /** Checks every known peer's /info once (the daily revalidation). */
  revalidate(): Promise<void>;
}

/** The table's bounds; dev mode's loopback peers share one address, so no per-domain bound there. */
function admissionFor(options: PeerNetworkOptions) {
  return createPeerAdmission({
    store: options.store,
    maxPeers: options.maxPeers,
    ...(options.dev ? { maxPerDomain: Number.POSITIVE_INFINITY } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}

/**
 * The Codius host network as seen from this host: peers are validated before
 * they are added (canonical https origin, public addresses only in production, `/info` naming the same
 * URI), every request to a peer is bounded in time and size, and a peer is dropped only after repeated
 * failures over time, not on one error.
 */
export function createPeerNetwork(options: PeerNetworkOptions): PeerNetwork {
  const { store, client, logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const self = normalizePeerUri(options.selfUri, true);
  const failing = new Set<string>();
  let stopped = false;
  let discoveryTimer: NodeJS.Timeout | undefined;
  let revalidationTimer: NodeJS.Timeout | undefined;
  let pass: Promise<void> | undefined;

  /** The canonical form of an offered URI if it may be a peer at all (no network involved). */
  function acceptable(raw: unknown): string | null {
    if (typeof raw !== 'string') return null;
    const uri = normalizePeerUri(raw, options.dev);
    if (uri === null || uri === self) return null;
    if (!options.dev && isLiteralAddress(uri) && !isPublicAddress(peerHostname(uri))) return null;
    return uri;
  }

  const admission = admissionFor(options);
  const intake = createPeerIntake({ store, admission, client, logger, dev: options.dev, acceptable });
  const offer = (uris: readonly unknown[]): void => intake.offer(uris);

  /** After a failed exchange: count it, and drop the peer once it failed repeatedly over enough time. */
  async function failed(uri: string, error: unknown): Promise<void> {
    const failures = await store.recordFailure(uri);
    const reason = error instanceof Error ? error.message : String(error);
    if (!failing.has(uri)) {
      failing.add(uri);
      logger.warn({ peer: uri, err: reason }, 'peer did not answer; will retry');
    }
    const record = await store.get(uri);
    if (!record || failures < options.maxFailures) return;
    if (now() - (record.lastSeenAt ?? record.addedAt) < options.dropAfterMs) return;
    await store.remove(uri);
    failing.delete(uri);
    logger.info({ peer: uri, failures }, 'dropped a peer that stopped answering');
  }

  async function answered(uri: string): Promise<void> {
    await store.recordSuccess(uri);
    if (failing.delete(uri)) logger.info({ peer: uri }, 'peer answers again');
  }

  async function discoverOnce(): Promise<void> {
    const targets = samplePeers(await store.listUris(), options.fanout, random);
    await Promise.all(
      targets.map(async (peer) => {
        try {
          const listed = await client.discover(peer, options.selfUri);
          await answered(peer);
          offer(listed);
        } catch (error) {
          await failed(peer, error);
        }
      }),
    );
  }

  async function revalidate(): Promise<void> {
    for (const peer of await store.listUris()) {
      if (stopped) return;
      try {
        const reported = await client.infoUri(peer);
        if (normalizePeerUri(reported, options.dev) !== peer) {
          await store.remove(peer);
          logger.info({ peer, reported }, 'dropped a peer whose /info now names another URI');
        } else {
          await answered(peer);
        }
      } catch (error) {
        await failed(peer, error);
      }
    }
  }

  function scheduleDiscovery(): void {
    if (stopped) return;
    discoveryTimer = setTimeout(() => {
      pass = discoverOnce()
        .catch((error: unknown) => logger.error({ err: error }, 'peer discovery pass failed'))
        .finally(() => {
          pass = undefined;
          scheduleDiscovery();
        });
    }, options.discoveryIntervalMs);
  }

  function scheduleRevalidation(): void {
    if (stopped) return;
    revalidationTimer = setTimeout(
      () => {
        revalidate()
          .catch((error: unknown) => logger.error({ err: error }, 'peer revalidation failed'))
          .finally(scheduleRevalidation);
      },
      DAY_MS + random() * REVALIDATION_JITTER_MS,
    );
    revalidationTimer.unref();
  }

  return {
    async start() {
      // Bootstrap peers are the operator's choice, trusted without a network check (they may be down now).
      const trimmed = await admission.trim();
      if (trimmed > 0) logger.info({ removed: trimmed, maxPeers: options.maxPeers }, 'peer table trimmed');
      for (const raw of options.bootstrap) {
        const uri = acceptable(raw);
        if (uri !== null) await admission.admit(uri, false);
      }
      scheduleDiscovery();
      scheduleRevalidation();
    },
    async stop() {
      stopped = true;
      clearTimeout(discoveryTimer);
      clearTimeout(revalidationTimer);
      await pass;
      await intake.stop();
      client.close();
    },
    offer,
    discoverOnce,
    revalidate,
  };
}
