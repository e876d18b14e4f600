import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsMaterial } from '../../src/acme/tls-source.js';
import { selfSignedCertificate as makeCertificate } from '../../test/helpers/certificates.js';

/** A certificate and its key, as PEM text and as the files nginx reads. */
export interface CertificateFiles extends TlsMaterial {
  certPath: string;
  keyPath: string;
}

/**
 * A self-signed ECDSA P-256 certificate for `host` and `*.host` (the tests' own maker), also written to
 * files in `dir` for nginx. The benches' clients do not verify certificates; what costs is the key type.
 */
export async function selfSignedCertificate(dir: string, host: string): Promise<CertificateFiles> {
  const { cert, key } = await makeCertificate(host, { days: 2, altNames: [host, `*.${host}`] });
  const certPath = join(dir, 'bench-cert.pem');
  const keyPath = join(dir, 'bench-key.pem');
  await writeFile(certPath, cert);
  await writeFile(keyPath, key, { mode: 0o600 });
  return { certPath, keyPath, cert, key };
}
