import { createHash } from 'node:crypto';

/** The `Pay-Token` header of the HTTP-ILP handshake: 16 random bytes chosen by the payer. */
export const PAY_TOKEN_BYTES = 16;

export type PayTokenResult = { ok: true; token: Buffer } | { ok: false; reason: 'missing' | 'malformed' };

/**
 * Decodes a `Pay-Token` header. Both base64 alphabets are accepted, with or without padding (ilp-fetch
 * sends base64url without padding); anything that is not exactly 16 bytes of base64 is malformed.
 */
export function parsePayToken(header: string | string[] | undefined): PayTokenResult {
  if (header === undefined) return { ok: false, reason: 'missing' };
  if (Array.isArray(header)) return { ok: false, reason: 'malformed' };
  const text = header.trim();
  if (text === '') return { ok: false, reason: 'missing' };
  // Strict: Node's decoder skips characters it does not know, which would let junk through.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return { ok: false, reason: 'malformed' };
  const token = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return token.length === PAY_TOKEN_BYTES ? { ok: true, token } : { ok: false, reason: 'malformed' };
}

/** sha256 hex of a pay token: the only form in which a token is ever stored. */
export function payTokenHash(token: Buffer): string {
  return createHash('sha256').update(token).digest('hex');
}
