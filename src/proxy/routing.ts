import type { IncomingMessage } from 'node:http';
import type { ManifestHash, PodRecord } from '../domain/types.js';
import { createAddressMatcher, unmapped, type AddressRule } from '../net/address-list.js';
import { createClientResolver } from '../net/client-address.js';
import { arrivedOverTls } from '../net/proxy-protocol.js';
import { FramingError, upstreamRequestHeaders, type RequestOrigin } from './headers.js';
import { createPodHostMatcher } from './pod-host.js';
import type { PodUpstream, Upstreams } from './upstreams.js';

export type Resolution =
  { ok: true; host: string; port: number } | { ok: false; status: number; message: string };

/** Where a pod's traffic goes now, or why it cannot go there. */
export function resolvePod(hash: ManifestHash, record: PodRecord | undefined, now: number): Resolution {
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

/** A request routed to a pod: where it goes and what to send, or the error that answers it. */
export type Routed =
  | {
      ok: true;
      path: string;
      headers: string[];
      hasBody: boolean;
      upstream: PodUpstream;
      /** Who the request is from (see createClientResolver), for per-client shares of the pod. */
      client: string;
    }
  | { ok: false; status: number; message: string; close: boolean };

export interface PodRouter {
  /** The manifest hash a Host header names, or null for every Host that is not a pod hostname. */
  podHashOf(host: string | undefined): ManifestHash | null;
  /**
   * The checks every pod request passes, HTTP or upgrade, in order: pod state, target, framing. Answered
   * at once from the directory; only while it is still being loaded and lacks the pod, once the store has
   * answered (rejected if the store failed).
   */
  route(req: IncomingMessage, hash: ManifestHash, upgrade: boolean): Routed | Promise<Routed>;
}

export interface PodRouterOptions {
  publicUri: string;
  trustedProxies: readonly AddressRule[];
  lookup: (hash: ManifestHash) => PodRecord | undefined;
  /** The stored record of a pod `lookup` lacks, while it may only not be loaded yet; otherwise undefined. */
  lookupStored?: (hash: ManifestHash) => Promise<PodRecord | undefined> | undefined;
  /** The pod a Host that is no `<hash>.<host>` name is served for (custom domains), if any. */
  customHost?: (host: string | undefined) => ManifestHash | null;
  upstreams: Pick<Upstreams, 'get'>;
  now: () => number;
}

/** Decides where a request for a pod hostname goes, and with which headers. */
export function createPodRouter(options: PodRouterOptions): PodRouter {
  const { lookup, upstreams, now } = options;
  const isTrusted = createAddressMatcher(options.trustedProxies);
  const clientOf = createClientResolver(isTrusted);
  const publicProto = new URL(options.publicUri).protocol.slice(0, -1);

  function originOf(req: IncomingMessage): RequestOrigin {
    const address = req.socket.remoteAddress;
    return {
      clientAddress: address === undefined ? '' : unmapped(address),
      trusted: isTrusted(address),
      defaultTrustedProto: publicProto,
      proto: arrivedOverTls(req.socket) ? 'https' : 'http',
    };
  }

  const podHost = createPodHostMatcher(options.publicUri);
  const customHost = options.customHost;
  return {
    podHashOf: customHost ? (host) => podHost(host) ?? customHost(host) : podHost,
    route(req, hash, upgrade) {
      const record = lookup(hash);
      const stored = record === undefined ? options.lookupStored?.(hash) : undefined;
      if (stored === undefined) return routeTo(req, hash, record, upgrade);
      return stored.then((found) => routeTo(req, hash, found, upgrade));
    },
  };

  function routeTo(
    req: IncomingMessage,
    hash: ManifestHash,
    record: PodRecord | undefined,
    upgrade: boolean,
  ): Routed {
    const resolution = resolvePod(hash, record, now());
    if (!resolution.ok) return { ...resolution, close: false };
    const path = targetPath(req.url);
    if (path === null)
      return { ok: false, status: 400, message: 'request target must be a path', close: true };
    try {
      const { headers, hasBody } = upstreamRequestHeaders(req.rawHeaders, originOf(req), upgrade);
      const upstream = upstreams.get(hash, resolution.host, resolution.port);
      const client = clientOf(req.socket.remoteAddress, req.headers['x-forwarded-for']);
      return { ok: true, path, headers, hasBody, upstream, client };
    } catch (error) {
      if (!(error instanceof FramingError)) throw error;
      return { ok: false, status: 400, message: `refused: ${error.message}`, close: true };
    }
  }
}
