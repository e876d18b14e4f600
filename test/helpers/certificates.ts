import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A self-signed ECDSA P-256 certificate for `commonName` (and `altNames`), made with openssl; PEM. */
export async function selfSignedCertificate(
  commonName: string,
  options: { days?: number; altNames?: string[] } = {},
): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-cert-'));
  try {
    const san = options.altNames
      ? ['-addext', `subjectAltName=${options.altNames.map((name) => `DNS:${name}`).join(',')}`]
      : [];
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      String(options.days ?? 1),
      '-subj',
      `/CN=${commonName}`,
      ...san,
    ]);
    const [cert, key] = await Promise.all([
      readFile(join(dir, 'cert.pem'), 'utf8'),
      readFile(join(dir, 'key.pem'), 'utf8'),
    ]);
    return { cert, key };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
