/**
 * Header rewriting for the pod proxy. Works on Node's flat raw header arrays ([name, value, name, value…])
 * so repeated headers (Set-Cookie, Via…) keep their order and multiplicity, and nothing is parsed twice.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1 and the usual non-standard ones): never forwarded. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Always rewritten by codiusd: extended or kept from a trusted proxy, replaced for anyone else. */
const X_FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
/** Other claims about the client, believed only from a trusted proxy (dropped otherwise). */
const CLIENT_CLAIMS = new Set(['forwarded', 'x-real-ip']);

/** Who sent the request to codiusd, and whether that peer's X-Forwarded-* may be believed. */
export interface RequestOrigin {
  clientAddress: string;
  trusted: boolean;
  /** Scheme to report when a trusted proxy did not say (the public URI's). */
  defaultTrustedProto: string;
  /** The scheme the peer itself used ('https' when codiusd, or HAProxy for it, terminated TLS). */
  proto: 'http' | 'https';
}

export interface UpstreamRequestHeaders {
  headers: string[];
  /** Whether a request body follows (Content-Length > 0 or chunked). */
  hasBody: boolean;
}

/** Why a request's framing is refused: a shape used for request smuggling. */
export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

/** Lower-cased names listed in Connection headers (other than the standard options), to drop as hop-by-hop. */
function connectionListed(values: readonly string[]): Set<string> | null {
  let listed: Set<string> | null = null;
  for (const value of values) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase();
      if (name === '' || name === 'close' || name === 'keep-alive' || name === 'upgrade') continue;
      (listed ??= new Set()).add(name);
    }
  }
  return listed;
}

/**
 * The headers to send to a pod for a client request: hop-by-hop headers (and those the client's
 * Connection header names) removed, Expect removed (the proxy answers 100-continue itself), X-Forwarded-*
 * believed only from a trusted peer and otherwise replaced, Host kept as the client sent it.
 * Throws FramingError for ambiguous body framing (both Content-Length and Transfer-Encoding, repeated or
 * malformed Content-Length, a Transfer-Encoding other than one `chunked`), which is never forwarded.
 * With `upgrade`, the Upgrade header is kept and `Connection: Upgrade` sent.
 */
export function upstreamRequestHeaders(
  raw: readonly string[],
  origin: RequestOrigin,
  upgrade = false,
): UpstreamRequestHeaders {
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection: string[] | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;

  // First pass: framing and forwarding facts.
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    switch (name) {
      case 'content-length':
        if (contentLength !== undefined) throw new FramingError('more than one Content-Length header');
        if (!/^\d{1,15}$/.test(value.trim())) throw new FramingError('invalid Content-Length header');
        contentLength = value.trim();
        break;
      case 'transfer-encoding':
        if (transferEncoding !== undefined) throw new FramingError('more than one Transfer-Encoding header');
        transferEncoding = value;
        break;
      case 'connection':
        (connection ??= []).push(value);
        break;
      case 'host':
        host = value;
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case 'x-forwarded-proto':
        forwardedProto ??= value;
        break;
      case 'x-forwarded-host':
        forwardedHost ??= value;
        break;
    }
  }
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) {
      throw new FramingError('both Content-Length and Transfer-Encoding headers');
    }
    if (transferEncoding.trim().toLowerCase() !== 'chunked') {
      throw new FramingError('Transfer-Encoding other than chunked');
    }
  }

  const listed = connection ? connectionListed(connection) : null;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || X_FORWARDED.has(lower) || lower === 'expect') {
      if (upgrade && lower === 'upgrade') headers.push(name, raw[i + 1] ?? '');
      continue;
    }
    if (listed?.has(lower) || (!origin.trusted && CLIENT_CLAIMS.has(lower))) continue;
    headers.push(name, raw[i + 1] ?? '');
  }
  if (upgrade) headers.push('Connection', 'Upgrade');

  const believe = origin.trusted;
  headers.push(
    'X-Forwarded-For',
    believe && forwardedFor !== undefined ? `${forwardedFor}, ${origin.clientAddress}` : origin.clientAddress,
    'X-Forwarded-Proto',
    believe ? (forwardedProto ?? origin.defaultTrustedProto) : origin.proto,
    'X-Forwarded-Host',
    (believe ? forwardedHost : undefined) ?? host ?? '',
  );
  return {
    headers,
    hasBody: transferEncoding !== undefined || (contentLength !== undefined && Number(contentLength) > 0),
  };
}

/** Header bytes are latin1 on the wire; decoding them as UTF-8 would corrupt (and Node would refuse) them. */
const latin1 = (value: Buffer | string | undefined): string =>
  value === undefined ? '' : typeof value === 'string' ? value : value.toString('latin1');

/** A pod's response headers for the client: hop-by-hop ones (and those its Connection header names) removed. */
export function downstreamResponseHeaders(raw: readonly (Buffer | string)[]): string[] {
  const names: string[] = [];
  let connection: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]);
    names.push(name);
    if (name.length === 10 && name.toLowerCase() === 'connection')
      (connection ??= []).push(latin1(raw[i + 1]));
  }
  const listed = connection ? connectionListed(connection) : null;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = names[i / 2] ?? '';
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) continue;
    headers.push(name, latin1(raw[i + 1]));
  }
  return headers;
}
