import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from '@hapi/hapi';
import { codiusError } from '../domain/errors.js';

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

/** Every admin request must carry the token (401 with a basic-auth challenge otherwise, for browsers). */
export function requireAdminToken(server: Server, token: string): void {
  const expected = digest(token);
  server.ext('onRequest', (request, h) => {
    const given = presentedToken(request.headers.authorization as string | undefined);
    if (given !== null && timingSafeEqual(digest(given), expected)) return h.continue;
    throw codiusError('admin_unauthorized');
  });
}
