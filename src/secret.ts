import { createHmac, randomBytes } from 'node:crypto';
import { chmod, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const SECRET_FILE = 'secret';
const SECRET_BYTES = 32;

export class SecretFileError extends Error {
  constructor(path: string, reason: string) {
    super(
      `host secret ${path} ${reason}; restore it from a backup (a new one changes every pod's CODIUS_SECRET)`,
    );
    this.name = 'SecretFileError';
  }
}

/**
 * Loads the host secret from `<root>/secret` (base64 of 32 bytes, mode 0600), creating it on first start.
 * An unreadable or malformed file stops the daemon instead of being replaced: pods' secrets derive from it.
 */
export async function loadOrCreateHostSecret(root: string): Promise<{ secret: Buffer; created: boolean }> {
  const path = join(root, SECRET_FILE);
  try {
    // 'wx' fails if the file exists, so two starts can never both create one.
    const handle = await open(path, 'wx', 0o600);
    const secret = randomBytes(SECRET_BYTES);
    try {
      await handle.writeFile(secret.toString('base64'));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { secret, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }

  const text = (await readFile(path, 'utf8')).trim();
  const secret = Buffer.from(text, 'base64');
  if (secret.length !== SECRET_BYTES || secret.toString('base64') !== text) {
    throw new SecretFileError(path, `is not the base64 of ${SECRET_BYTES} bytes`);
  }
  // Tighten permissions that were loosened by hand.
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return { secret, created: false };
}

/**
 * A stable, non-secret identifier of this host derived from its secret: labels its pods in a runtime that
 * other hosts or tools may share, so it never touches pods that are not its own.
 */
export function hostIdFromSecret(secret: Buffer): string {
  return createHmac('sha256', secret).update('codiusd host id').digest('hex').slice(0, 16);
}

/**
 * A pod's own secret: stable for one manifest on one host, unknown to every other pod. It is the hyperd
 * moneyd sidecar's CODIUS_SECRET, and what a pod's ILP account is authenticated by.
 */
export function podSecret(hostSecret: Buffer, hash: string): string {
  return createHmac('sha256', hostSecret).update(hash, 'utf8').digest('hex');
}
