import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';

/** A new Ed25519 key pair for the host's Open Payments requests: the private key written, the public returned. */
export async function writeOpenPaymentsKey(
  path: string,
): Promise<{ keyId: string; jwk: Record<string, string> }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // 'wx': an existing key is never replaced (it may be registered already); mode 600 from the start.
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  const keyId = randomUUID();
  const { x = '' } = publicKey.export({ format: 'jwk' });
  return { keyId, jwk: { kid: keyId, alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', x, use: 'sig' } };
}
