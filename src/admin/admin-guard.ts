import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Request, Server } from '@hapi/hapi';
import { CodiusError, codiusError } from '../domain/errors.js';

export interface AdminGuardOptions {
  token: string;
  /** Host names the listener also answers to (CODIUS_ADMIN_HOSTS), lower case; its addresses always. */
  hostnames: readonly string[];
}

/** Methods that change nothing: the only ones a cross-site page could send without asking first. */
const SAFE_METHODS = new Set(['get', 'head', 'options']);

/** The token a request presents: `Bearer <token>`, or the password of HTTP basic authentication. */
function presentedToken(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() !== 'basic') return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

// Compared as digests: equal length whatever was sent, so timing says nothing about the token.
const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The host name of a Host header or an origin's authority (`name:port`, `[v6]:port`), lower case. */
function hostnameOf(authority: string): string {
  const text = authority.trim().toLowerCase();
  if (text.startsWith('[')) return text.slice(1, text.indexOf(']'));
  return text.split(':')[0] ?? '';
}

/**
 * Whether a name is one the listener answers to: any address literal (a rebinding page's Host is always
 * its own domain name), `localhost`, or a name the operator configured.
 */
function answersTo(hostname: string, configured: ReadonlySet<string>): boolean {
  return isIP(hostname) !== 0 || hostname === 'localhost' || configured.has(hostname);
}

/** The dashboard's page and its static assets hold no data: a browser loads them before it has the token. */
function isPublicShell(request: Request): boolean {
  if (request.method !== 'get') return false;
  if (request.path.startsWith('/assets/')) return true;
  const accept: unknown = request.headers.accept;
  return request.path === '/' && typeof accept === 'string' && accept.includes('text/html');
}

/** A state-changing request from another site's page, as the browser tells (Sec-Fetch-Site, Origin). */
function crossSite(request: Request, configured: ReadonlySet<string>): boolean {
  const site: unknown = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return true;
  const origin: unknown = request.headers.origin;
  if (typeof origin !== 'string') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return true;
  }
  return (
    url.host.toLowerCase() !== String(request.headers.host).toLowerCase() ||
    !answersTo(hostnameOf(url.host), configured)
  );
}

/**
 * Every admin request passes here first: its Host must be one the listener answers to (no DNS rebinding),
 * a state-changing one must be JSON from the listener's own pages (no cross-site form or no-cors fetch),
 * and all but the dashboard's empty page and assets must carry the token.
 */
export function guardAdminRequests(server: Server, options: AdminGuardOptions): void {
  // An empty token would let an empty basic-auth password in.
  if (options.token.length < 16) throw new Error('the admin token must be at least 16 characters');
  const expected = digest(options.token);
  const configured = new Set(options.hostnames.map((name) => name.toLowerCase()));
  server.ext('onRequest', (request, h) => {
    const host: unknown = request.headers.host;
    if (typeof host !== 'string' || !answersTo(hostnameOf(host), configured)) {
      throw new CodiusError('admin_host_refused', {
        host: typeof host === 'string' ? host.slice(0, 100) : '',
      });
    }
    if (!SAFE_METHODS.has(request.method)) {
      if (crossSite(request, configured)) throw codiusError('admin_cross_site');
      const type: unknown = request.headers['content-type'];
      if (typeof type !== 'string' || !/^application\/json\s*(;|$)/i.test(type)) {
        throw codiusError('admin_needs_json');
      }
    }
    if (isPublicShell(request)) return h.continue;
    const given = presentedToken(request.headers.authorization as string | undefined);
    if (given !== null && timingSafeEqual(digest(given), expected)) return h.continue;
    throw codiusError('admin_unauthorized');
  });
}
