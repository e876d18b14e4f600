import { Pool } from '../net/undici-pool.js';
import type { ManifestHash } from '../domain/types.js';

/** How long an idle keep-alive connection to a pod is kept (below common server defaults, e.g. Node's 5 s). */
const IDLE_CONNECTION_MS = 4_000;
/** Connecting to a pod on the local bridge is immediate or refused; waiting longer only hides a dead pod. */
const MAX_CONNECT_TIMEOUT_MS = 5_000;

export interface UpstreamLimits {
  /** Most connections open to one pod (HTTP keep-alive sockets plus WebSocket tunnels). */
  maxConnections: number;
  /** Wait for response headers, and longest silence within a response body. */
  timeoutMs: number;
}

/** The connections of one pod: a keep-alive pool for HTTP and a count of open WebSocket tunnels. */
export interface PodUpstream {
  readonly hash: ManifestHash;
  readonly host: string;
  readonly port: number;
  readonly pool: Pool;
  /** HTTP requests dispatched and not finished (running or queued in the pool). */
  inFlight: number;
  tunnels: number;
}

export interface Upstreams {
  /** The upstream of a pod at ip:port; a pod that moved (recreated with a new IP) gets a fresh pool. */
  get(hash: ManifestHash, host: string, port: number): PodUpstream;
  /** Closes the pools of pods `isGone` says are no longer served. */
  sweep(isGone: (hash: ManifestHash) => boolean): void;
  /** Destroys every pool (their requests fail). */
  close(): Promise<void>;
}

/** One undici pool per pod: requests to a pod reuse its connections, and a busy pod cannot starve others. */
export function createUpstreams(limits: UpstreamLimits): Upstreams {
  const upstreams = new Map<ManifestHash, PodUpstream>();

  const retire = (upstream: PodUpstream): void => {
    // Lets running requests finish; the pool closes its connections when they are done.
    upstream.pool.close().catch(() => undefined);
  };

  return {
    get(hash, host, port) {
      const existing = upstreams.get(hash);
      if (existing?.host === host && existing.port === port) return existing;
      if (existing) retire(existing);
      const upstream: PodUpstream = {
        hash,
        host,
        port,
        pool: new Pool(`http://${host}:${port}`, {
          connections: limits.maxConnections,
          pipelining: 1,
          keepAliveTimeout: IDLE_CONNECTION_MS,
          keepAliveMaxTimeout: IDLE_CONNECTION_MS,
          headersTimeout: limits.timeoutMs,
          bodyTimeout: limits.timeoutMs,
          connect: { timeout: Math.min(MAX_CONNECT_TIMEOUT_MS, limits.timeoutMs) },
          strictContentLength: true,
        }),
        inFlight: 0,
        tunnels: 0,
      };
      upstreams.set(hash, upstream);
      return upstream;
    },
    sweep(isGone) {
      for (const [hash, upstream] of upstreams) {
        if (!isGone(hash)) continue;
        upstreams.delete(hash);
        retire(upstream);
      }
    },
    async close() {
      const all = [...upstreams.values()];
      upstreams.clear();
      await Promise.all(all.map((upstream) => upstream.pool.destroy().catch(() => undefined)));
    },
  };
}
