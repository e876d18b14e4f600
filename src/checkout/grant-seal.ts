import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { ManifestHash } from '../domain/types.js';

/** An outgoing-payment grant a renewal pays with: its access token and where to rotate or revoke it. */
export interface RenewalGrant {
  value: string;
  manage: string;
}

/**
 * Seals renewal grants for the store: AES-256-GCM under a key derived from the host secret for this use
 * alone (HKDF), the manifest hash as associated data, so the store never holds a token in clear and a
 * sealed grant moved to another manifest's row does not open.
 */
export interface GrantSeal {
  seal(hash: ManifestHash, grant: RenewalGrant): string;
  /** Throws when the value was altered, belongs to another manifest or was sealed with another secret. */
  open(hash: ManifestHash, sealed: string): RenewalGrant;
}

const FORMAT = 'g1';
const INFO = 'codiusd renewal grant v1';

export function createGrantSeal(hostSecret: Buffer): GrantSeal {
  const key = Buffer.from(hkdfSync('sha256', hostSecret, Buffer.alloc(0), INFO, 32));
  return {
    seal(hash, grant) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(hash));
      const body = Buffer.concat([cipher.update(JSON.stringify(grant), 'utf8'), cipher.final()]);
      return [FORMAT, ...[iv, body, cipher.getAuthTag()].map((part) => part.toString('base64url'))].join('.');
    },
    open(hash, sealed) {
      const [format, iv = '', body = '', tag = ''] = sealed.split('.');
      if (format !== FORMAT) throw new Error(`sealed grant of ${hash} has an unknown format`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(hash));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
      const grant = JSON.parse(text.toString('utf8')) as RenewalGrant;
      return { value: grant.value, manage: grant.manage };
    },
  };
}
