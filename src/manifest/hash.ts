import { createHash } from 'node:crypto';
import base32Encode from 'base32-encode';
import canonicalStringify from 'canonical-json';
import type { Manifest, ManifestHash, PrivateVar } from '../domain/types.js';

/**
 * Canonical JSON exactly as codius-manifest produces it. canonical-json is pinned to 0.0.4: 0.4.0 escapes
 * like JSON.stringify (U+007F–U+009F, U+2028… raw, lone surrogates escaped), which changes hashes.
 */
export function canonicalJson(value: unknown): string {
  return canonicalStringify(value);
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** base32(sha256(utf8(canonical(manifest)))), RFC 4648, lower case, unpadded: 52 characters. */
export function hashManifest(manifest: Manifest): ManifestHash {
  return base32Encode(sha256(canonicalJson(manifest)), 'RFC4648', { padding: false }).toLowerCase();
}

/** The public declaration of a private variable: hex sha256 of the canonical private entry. */
export function hashPrivateVar(entry: PrivateVar): string {
  return sha256(canonicalJson(entry)).toString('hex');
}

/** A manifest hash as codiusd writes it: 52 lower-case base32 characters. */
export const MANIFEST_HASH_PATTERN = /^[a-z2-7]{52}$/;
