import { createRequire } from 'node:module';
import type { getDomain as GetDomain } from 'tldts';
import type { PeerRepository } from '../store/repositories/peers.js';

// The Public Suffix List is loaded with the first peer: a host that knows none does not carry it.
const requireHere = createRequire(import.meta.url);
let getDomain: typeof GetDomain | undefined;

/** Peers of one registrable domain kept at most: wildcard DNS must not make one party millions of peers. */
export const MAX_PEERS_PER_DOMAIN = 10;
/** A full table makes room only by dropping a peer that has not answered for this long. */
const STALE_MS = 3_600_000;

export type Admission = 'added' | 'known' | 'domain_full' | 'full';

/** `codius.example.com` and `x.codius.example.com` → `example.com` (Public Suffix List); an IP stays itself. */
export function registrableDomain(uri: string): string {
  const { hostname } = new URL(uri);
  getDomain ??= (requireHere('tldts') as { getDomain: typeof GetDomain }).getDomain;
  return getDomain(hostname, { allowPrivateDomains: true }) ?? hostname;
}

export interface PeerAdmission {
  /**
   * Adds a peer within the bounds: at most `maxPeers` in all and MAX_PEERS_PER_DOMAIN per registrable
   * domain. When full, the peer that answered longest ago (or never) makes room if it is stale;
   * otherwise the newcomer is refused. `answered`: it has just answered (it counts as seen now).
   */
  admit(uri: string, answered: boolean): Promise<Admission>;
  /** Removes the stalest peers beyond `maxPeers` (a table from before the bound, or a lower bound). */
  trim(): Promise<number>;
}

export function createPeerAdmission(options: {
  store: Pick<PeerRepository, 'get' | 'add' | 'remove' | 'list' | 'listUris' | 'count' | 'recordSuccess'>;
  maxPeers: number;
  /** Per registrable domain; dev mode's loopback peers share one address, so it lifts this. */
  maxPerDomain?: number;
  now?: () => number;
}): PeerAdmission {
  const { store, maxPeers } = options;
  const maxPerDomain = options.maxPerDomain ?? MAX_PEERS_PER_DOMAIN;
  const now = options.now ?? Date.now;

  return {
    async admit(uri, answered) {
      if (await store.get(uri)) return 'known';
      const domain = registrableDomain(uri);
      const uris = await store.listUris();
      if (uris.filter((known) => registrableDomain(known) === domain).length >= maxPerDomain) {
        return 'domain_full';
      }
      if (uris.length >= maxPeers) {
        const stalest = (await store.list(uris.length)).at(-1);
        if (!stalest || (stalest.lastSeenAt ?? 0) > now() - STALE_MS) return 'full';
        await store.remove(stalest.uri);
      }
      if (!(await store.add(uri))) return 'known';
      if (answered) await store.recordSuccess(uri);
      return 'added';
    },
    async trim() {
      const count = await store.count();
      if (count <= maxPeers) return 0;
      const peers = await store.list(count);
      for (const peer of peers.slice(maxPeers)) await store.remove(peer.uri);
      return count - maxPeers;
    },
  };
}
