import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ManifestHash, PodRecord } from '../domain/types.js';
import type { Logger } from '../logger.js';
import { createAddressMatcher, unmapped, type AddressRule } from '../net/address-list.js';
import {
  downstreamResponseHeaders,
  FramingError,
  upstreamRequestHeaders,
  type RequestOrigin,
} from './headers.js';
import { createPodHostMatcher } from './pod-host.js';
import { sendError, writeRawError } from './responses.js';
import { openTunnel } from './tunnel.js';
import { createUpstreams, type PodUpstream } from './upstreams.js';

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
  logger: Logger;
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
  /** Connections currently open to pods, for tests and metrics. */
  stats(): { pods: number; inFlight: number; tunnels: number };
  /**
   * Shutdown: ends every open tunnel (WebSocket clients see the connection close and can reconnect to the
   * next codiusd), or with `force` destroys them.
   */
  closeTunnels(force?: boolean): void;
  close(): Promise<void>;
}

type Resolution = { ok: true; host: string; port: number } | { ok: false; status: number; message: string };

/** Where a pod's traffic goes now, or why it cannot go there. */
function resolvePod(hash: ManifestHash, record: PodRecord | undefined, now: number): Resolution {
  if (!record || record.state === 'terminating' || record.expiresAt <= now) {
    return { ok: false, status: 404, message: `no pod with that hash found. hash=${hash}` };
  }
  if (record.port === null) {
    return {
      ok: false,
      status: 404,
      message: `pod ${hash} serves no HTTP: its manifest declares no port`,
    };
  }
  if (record.state !== 'running' || record.ip === null) {
    return { ok: false, status: 503, message: `pod ${hash} is not running yet; try again shortly` };
  }
  return { ok: true, host: record.ip, port: record.port };
}

/** The origin-form target; absolute-form (`GET http://h/p`) is reduced to its path, anything else refused. */
function targetPath(url: string | undefined): string | null {
  if (url?.startsWith('/')) return url;
  if (url === undefined || !/^https?:\/\//i.test(url)) return null;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return null;
  }
}

/** What an upstream error means for the client. */
function describeUpstreamError(error: Error & { code?: string }, hash: ManifestHash, port: number) {
  switch (error.code) {
    case 'ECONNREFUSED':
      return { status: 502, message: `pod ${hash} refused the connection on port ${port}` };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { status: 504, message: `pod ${hash} did not accept the connection in time` };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { status: 504, message: `pod ${hash} did not answer in time` };
    default:
      return { status: 502, message: `pod ${hash} failed to answer (${error.code ?? error.name})` };
  }
}

/**
 * One proxied HTTP request: the undici dispatch handler that streams the pod's answer into the client's
 * response. Body chunks are written as they arrive; when the client cannot take more, undici stops reading
 * from the pod until the response drains (backpressure both ways: undici reads the request body as the pod
 * accepts it).
 */
class ProxiedExchange implements Dispatcher.DispatchHandlers {
  private abort: ((error?: Error) => void) | undefined;
  private finished = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly onFailure: (error: Error) => void,
    private readonly onDone: () => void,
  ) {
    res.once('close', () => {
      // The client went away first: stop talking to the pod.
      if (!this.finished) this.abort?.();
    });
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational: not passed on
    this.res.writeHead(statusCode, downstreamResponseHeaders(rawHeaders));
    this.res.on('drain', resume);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  onComplete(): void {
    this.finish();
    this.res.end();
  }

  onError(error: Error): void {
    this.finish();
    this.onFailure(error);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone();
  }
}

/**
 * The hash-subdomain reverse proxy (spec §1.4), rebuilt for speed and safety: it runs before hapi (no
 * per-request framework work), forwards over keep-alive connection pools with streamed bodies, answers
 * every failure with a JSON error (also for WebSocket upgrades), refuses ambiguous framing, and bounds
 * connections and waiting per pod. Pod traffic is free and ungated, as in the original.
 */
export function createPodProxy(options: PodProxyOptions): PodProxy {
  const { logger, lookup } = options;
  const now = options.now ?? Date.now;
  const podHashOf = createPodHostMatcher(options.publicUri);
  const isTrusted = createAddressMatcher(options.trustedProxies);
  const publicProto = new URL(options.publicUri).protocol.slice(0, -1);
  const maxConnections = options.maxConnectionsPerPod;
  const upstreams = createUpstreams({ maxConnections, timeoutMs: options.timeoutMs });
  const totals = { inFlight: 0, tunnels: 0 };
  /** Client sockets of open (or opening) tunnels. */
  const tunnelSockets = new Set<Duplex>();

  const sweeper = setInterval(() => {
    upstreams.sweep((hash) => !resolvePod(hash, lookup(hash), now()).ok);
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  function originOf(req: IncomingMessage): RequestOrigin {
    const address = req.socket.remoteAddress;
    return {
      clientAddress: address === undefined ? '' : unmapped(address),
      trusted: isTrusted(address),
      defaultTrustedProto: publicProto,
    };
  }

  function logFailure(hash: ManifestHash, status: number, error: Error & { code?: string }): void {
    logger.warn({ hash, status, code: error.code ?? error.name }, 'pod proxy: upstream failed');
  }

  /** A request routed to a pod: where it goes and what to send, or the error that answers it. */
  type Routed =
    | {
        ok: true;
        path: string;
        headers: string[];
        hasBody: boolean;
        upstream: PodUpstream;
      }
    | { ok: false; status: number; message: string; close: boolean };

  /** The checks every pod request passes, HTTP or upgrade, in order: pod state, target, framing. */
  function route(req: IncomingMessage, hash: ManifestHash, upgrade: boolean): Routed {
    const resolution = resolvePod(hash, lookup(hash), now());
    if (!resolution.ok) return { ...resolution, close: false };
    const path = targetPath(req.url);
    if (path === null)
      return { ok: false, status: 400, message: 'request target must be a path', close: true };
    try {
      const { headers, hasBody } = upstreamRequestHeaders(req.rawHeaders, originOf(req), upgrade);
      const upstream = upstreams.get(hash, resolution.host, resolution.port);
      return { ok: true, path, headers, hasBody, upstream };
    } catch (error) {
      if (!(error instanceof FramingError)) throw error;
      return { ok: false, status: 400, message: `refused: ${error.message}`, close: true };
    }
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse, expectsContinue = false): boolean {
    const hash = podHashOf(req.headers.host);
    if (hash === null) return false;
    const routed = route(req, hash, false);
    if (!routed.ok) {
      sendError(res, routed.status, routed.message, {
        close: routed.close,
        retryAfterSeconds: routed.status === 503 ? 1 : undefined,
      });
      return true;
    }
    const { upstream } = routed;
    // Up to maxConnections run, as many again wait for a connection; beyond that the pod is overloaded.
    if (upstream.inFlight >= 2 * maxConnections) {
      sendError(res, 503, `pod ${hash} has too many requests in progress; try again shortly`, {
        close: routed.hasBody,
        retryAfterSeconds: 1,
      });
      return true;
    }
    if (expectsContinue) res.writeContinue();

    upstream.inFlight += 1;
    totals.inFlight += 1;
    const exchange = new ProxiedExchange(
      res,
      (error: Error & { code?: string }) => {
        if (error.code === 'UND_ERR_ABORTED') return; // the client left; nothing to answer
        const { status, message } = describeUpstreamError(error, hash, upstream.port);
        logFailure(hash, status, error);
        // A body the pod did not take may still be arriving: close rather than read it to the end.
        sendError(res, status, message, { close: true });
      },
      () => {
        upstream.inFlight -= 1;
        totals.inFlight -= 1;
      },
    );
    upstream.pool.dispatch(
      {
        path: routed.path,
        // Node's parser has already checked the method token.
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: routed.headers,
        body: routed.hasBody ? req : null,
      },
      exchange,
    );
    return true;
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const hash = podHashOf(req.headers.host);
    if (hash === null) {
      writeRawError(socket, 404, 'upgrades are served only on pod hostnames (<manifest hash>.<host>)');
      return;
    }
    const routed = route(req, hash, true);
    if (!routed.ok) {
      writeRawError(socket, routed.status, routed.message);
      return;
    }
    const { upstream } = routed;
    if (upstream.tunnels >= maxConnections) {
      writeRawError(socket, 503, `pod ${hash} has too many open WebSocket connections; try again later`);
      return;
    }
    upstream.tunnels += 1;
    totals.tunnels += 1;
    tunnelSockets.add(socket);
    const release = (): void => {
      upstream.tunnels -= 1;
      totals.tunnels -= 1;
      tunnelSockets.delete(socket);
    };
    openTunnel(
      req,
      socket,
      head,
      {
        host: upstream.host,
        port: upstream.port,
        method: req.method ?? 'GET',
        path: routed.path,
        headers: routed.headers,
        timeoutMs: options.timeoutMs,
      },
      (outcome) => {
        if (outcome.kind === 'upgraded') return; // released when the tunnel closes
        release();
        if (outcome.kind === 'timeout') {
          logFailure(hash, 504, Object.assign(new Error('timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
          writeRawError(socket, 504, `pod ${hash} did not answer in time`);
        } else if (outcome.kind === 'failed') {
          const { status, message } = describeUpstreamError(outcome.error, hash, upstream.port);
          logFailure(hash, status, outcome.error);
          writeRawError(socket, status, message);
        }
      },
      release,
    );
  }

  return {
    handleRequest,
    handleUpgrade,
    stats: () => ({ pods: upstreams.size(), ...totals }),
    closeTunnels(force = false) {
      for (const socket of tunnelSockets) {
        if (force) socket.destroy();
        else socket.end();
      }
    },
    async close() {
      clearInterval(sweeper);
      await upstreams.close();
    },
  };
}
