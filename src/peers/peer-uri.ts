import { isIP } from 'node:net';

const MAX_URI_LENGTH = 255;

/**
 * A peer's canonical URI: scheme and host in lower case, default port dropped, no path, no trailing slash
 * (`https://Host.example:443/` → `https://host.example`), so one host is never stored twice and a host
 * recognises itself. Null for anything that is not a bare origin: credentials, a path, a query or a
 * fragment; a scheme other than https (http too when `allowHttp`, for several hosts on one machine).
 */
export function normalizePeerUri(raw: string, allowHttp: boolean): string | null {
  if (raw.length === 0 || raw.length > MAX_URI_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) return null;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return null;
  if (url.pathname !== '/' || url.hostname === '') return null;
  return `${url.protocol}//${url.host}`;
}

/** The host part of a normalised peer URI, without IPv6 brackets (what DNS or an address check takes). */
export function peerHostname(uri: string): string {
  const { hostname } = new URL(uri);
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

/** Whether the peer's host is an IP literal (then no DNS lookup happens before connecting). */
export function isLiteralAddress(uri: string): boolean {
  return isIP(peerHostname(uri)) !== 0;
}
