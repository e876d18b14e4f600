import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ManifestHash, PodRecord } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { AddressRule } from '../net/address-list.js';
import { CLIENT_GONE, describeUpstreamError, ProxiedExchange } from './exchange.js';
import { sendError } from './responses.js';
import { createPodRouter, resolvePod, type Routed } from './routing.js';
import { createUpgradeHandler } from './upgrades.js';
import { createUpstreams } from './upstreams.js';
import { createClientShares } from './client-shares.js';

/** Pools of pods that stopped being served are closed this often. */
const SWEEP_INTERVAL_MS = 30_000;

export interface PodProxyOptions {
  /** CODIUS_PUBLIC_URI: pods are served at `<hash>.<its hostname>`. */
  publicUri: string;
  trustedProxies: readonly AddressRule[];
  timeoutMs: number;
  maxConnectionsPerPod: number;
  /** The pod records in memory (the pod manager keeps them in sync with the store). */
  lookup: (hash: ManifestHash) => PodRecord | undefined;
  /**
   * Right after a start, while the directory is still being filled: the stored record of a pod `lookup`
   * lacks (undefined once every stored pod is in memory).
   */
  lookupStored?: (hash: ManifestHash) => Promise<PodRecord | undefined> | undefined;
  /** Custom domains: the pod another Host is served for, if any. */
  customHost?: (host: string | undefined) => ManifestHash | null;
  logger: Logger;
  /** Told of every answered pod request: its status and seconds from request to the end of the response. */
  onAnswered?: (status: number, seconds: number) => void;
  now?: () => number;
}

export interface PodProxy {
  /**
   * Takes the request if its Host is a pod hostname and answers it (proxied or a JSON error); returns false
   * for every other request, which the caller routes as usual.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, expectsContinue?: boolean): boolean;
  /** Handles an upgrade request (WebSocket); always answers, since only pods serve upgrades. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Shutdown: ends every open tunnel (WebSocket clients see the connection close and can reconnect to the
   * next codiusd), or with `force` destroys them.
   */
  closeTunnels(force?: boolean): void;
  close(): Promise<void>;
}

/**
 * The hash-subdomain reverse proxy, built for speed and safety: it runs before hapi (no
 * per-request framework work), forwards over keep-alive connection pools with streamed bodies, answers
 * every failure with a JSON error (also for WebSocket upgrades), refuses ambiguous framing, and bounds
 * connections and waiting per pod. Pod traffic is free and ungated: the pod's time is what is paid for.
 */
export function createPodProxy(options: PodProxyOptions): PodProxy {
  const { logger, lookup } = options;
  const now = options.now ?? Date.now;
  const maxConnections = options.maxConnectionsPerPod;
  const upstreams = createUpstreams({ maxConnections, timeoutMs: options.timeoutMs });
  const router = createPodRouter({
    publicUri: options.publicUri,
    trustedProxies: options.trustedProxies,
    lookup,
    ...(options.lookupStored ? { lookupStored: options.lookupStored } : {}),
    ...(options.customHost ? { customHost: options.customHost } : {}),
    upstreams,
    now,
  });
  // A client gets a quarter of what a pod may have in flight (requests, waiting included).
  const requestShares = createClientShares(Math.max(1, Math.floor((2 * maxConnections) / 4)));

  const sweeper = setInterval(() => {
    upstreams.sweep((hash) => !resolvePod(hash, lookup(hash), now()).ok);
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  function logFailure(hash: ManifestHash, status: number, error: Error & { code?: string }): void {
    logger.warn({ hash, status, code: error.code ?? error.name }, 'pod proxy: upstream failed');
  }

  const upgrades = createUpgradeHandler({
    router,
    maxConnectionsPerPod: maxConnections,
    // And a quarter of a pod's WebSockets.
    tunnelShares: createClientShares(Math.max(1, Math.floor(maxConnections / 4))),
    timeoutMs: options.timeoutMs,
    logFailure,
  });

  function handleRequest(req: IncomingMessage, res: ServerResponse, expectsContinue = false): boolean {
    const hash = router.podHashOf(req.headers.host);
    if (hash === null) return false;
    const onAnswered = options.onAnswered;
    if (onAnswered) {
      const started = performance.now();
      res.once('finish', () => onAnswered(res.statusCode, (performance.now() - started) / 1000));
    }
    const routed = router.route(req, hash, false);
    if (routed instanceof Promise) {
      routed.then(
        (late) => forward(req, res, hash, late, expectsContinue),
        (error: unknown) => {
          logger.error({ err: error, hash }, 'pod proxy: the pod record could not be read');
          const message = `pod ${hash} cannot be looked up right now; try again shortly`;
          sendError(res, 503, message, { close: true, retryAfterSeconds: 1 });
        },
      );
    } else forward(req, res, hash, routed, expectsContinue);
    return true;
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    hash: ManifestHash,
    routed: Routed,
    expectsContinue: boolean,
  ): void {
    if (!routed.ok) {
      sendError(res, routed.status, routed.message, {
        close: routed.close,
        retryAfterSeconds: routed.status === 503 ? 1 : undefined,
      });
      return;
    }
    const { upstream } = routed;
    // Up to maxConnections run, as many again wait for a connection; beyond that the pod is overloaded.
    if (upstream.inFlight >= 2 * maxConnections) {
      sendError(res, 503, `pod ${hash} has too many requests in progress; try again shortly`, {
        close: routed.hasBody,
        retryAfterSeconds: 1,
      });
      return;
    }
    const share = `${hash} ${routed.client}`;
    if (!requestShares.take(share)) {
      sendError(res, 429, `too many requests from this client to pod ${hash} at once; try again shortly`, {
        close: routed.hasBody,
        retryAfterSeconds: 1,
      });
      return;
    }
    if (expectsContinue) res.writeContinue();

    upstream.inFlight += 1;
    const exchange = new ProxiedExchange(
      res,
      (error: Error & { code?: string }) => {
        if (error.code === CLIENT_GONE) return; // the client left; nothing to answer
        const { status, message } = describeUpstreamError(error, hash, upstream.port);
        logFailure(hash, status, error);
        // A body the pod did not take may still be arriving: close rather than read it to the end.
        sendError(res, status, message, { close: true });
      },
      () => {
        upstream.inFlight -= 1;
        requestShares.give(share);
      },
    );
    upstream.pool.dispatch(
      {
        path: routed.path,
        // Node's parser has already checked the method token.
        method: req.method ?? 'GET',
        headers: routed.headers,
        body: routed.hasBody ? req : null,
      },
      exchange,
    );
  }

  return {
    handleRequest,
    handleUpgrade: (req, socket, head) => upgrades.handle(req, socket, head),
    closeTunnels(force = false) {
      upgrades.closeAll(force);
    },
    async close() {
      clearInterval(sweeper);
      await upstreams.close();
    },
  };
}
