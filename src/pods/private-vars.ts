import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { ManifestHash, PrivateVar } from '../domain/types.js';

/**
 * Seals a request's private vars so a paid pod can be recreated after a crash or restart without the
 * client, while the store never holds them in clear. AES-256-GCM with a key derived from the host secret
 * (HKDF, so the secret itself is never used as a cipher key) and the manifest hash as associated data:
 * a sealed value moved to another manifest's row does not open.
 */
export interface PrivateVarsCipher {
  seal(hash: ManifestHash, vars: Record<string, PrivateVar>): string;
  /** Throws when the value was altered, belongs to another manifest or was sealed with another secret. */
  open(hash: ManifestHash, sealed: string): Record<string, PrivateVar>;
}

const FORMAT = 'v1';
const INFO = 'codiusd private manifest vars v1';
const IV_BYTES = 12;

export class SealedVarsError extends Error {
  constructor(hash: ManifestHash, reason: string) {
    super(`sealed private vars of ${hash} cannot be opened: ${reason}`);
    this.name = 'SealedVarsError';
  }
}

export function createPrivateVarsCipher(hostSecret: Buffer): PrivateVarsCipher {
  const key = Buffer.from(hkdfSync('sha256', hostSecret, Buffer.alloc(0), INFO, 32));
  return {
    seal(hash, vars) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(hash));
      const body = Buffer.concat([cipher.update(JSON.stringify(vars), 'utf8'), cipher.final()]);
      return [FORMAT, iv, body, cipher.getAuthTag()]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },
    open(hash, sealed) {
      const [format, iv, body, tag, ...rest] = sealed.split('.');
      if (
        format !== FORMAT ||
        iv === undefined ||
        body === undefined ||
        tag === undefined ||
        rest.length > 0
      ) {
        throw new SealedVarsError(hash, 'unknown format');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(hash));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
        return JSON.parse(text.toString('utf8')) as Record<string, PrivateVar>;
      } catch {
        throw new SealedVarsError(hash, 'authentication failed');
      }
    },
  };
}
