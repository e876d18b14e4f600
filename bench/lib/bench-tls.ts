import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TlsMaterial } from '../../src/acme/tls-source.js';

/** A certificate and its key, as PEM text and as the files nginx reads. */
export interface CertificateFiles extends TlsMaterial {
  certPath: string;
  keyPath: string;
}

/**
 * A self-signed ECDSA P-256 certificate for `host` and `*.host`, valid two days, made with openssl in
 * `dir`. The benches' clients do not verify certificates; what costs is the key type and the cipher.
 */
export async function selfSignedCertificate(dir: string, host: string): Promise<CertificateFiles> {
  const certPath = join(dir, 'bench-cert.pem');
  const keyPath = join(dir, 'bench-key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${host}`,
    '-addext',
    `subjectAltName=DNS:${host},DNS:*.${host}`,
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
  return {
    certPath,
    keyPath,
    cert: await readFile(certPath, 'utf8'),
    key: await readFile(keyPath, 'utf8'),
  };
}
