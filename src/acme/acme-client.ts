import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import acme from 'acme-client';
import type { AcmeClient, CsrMaker } from './acme-issuer.js';
import type { CertificateFiles } from './certificate-files.js';

export interface AcmeClientOptions {
  directoryUrl: string;
  /** PEM of CAs to trust for the directory's HTTPS (a private CA), or none for the system's. */
  caRootFile: string | null;
  files: CertificateFiles;
}

/**
 * acme-client's Client, with the account key kept in codiusd's files (made on first use, ECDSA P-256).
 * Status polling starts at one second: a CA that validates fast should not cost five.
 */
export async function createAcmeClient(options: AcmeClientOptions): Promise<AcmeClient> {
  if (options.caRootFile !== null) {
    const ca = await readFile(options.caRootFile);
    // acme-client makes every request through this one axios instance: trusting the CA here is the only
    // way to trust it for the ACME exchange without trusting it for all of codiusd's HTTPS.
    acme.axios.defaults.httpsAgent = new Agent({ ca });
  }
  const accountKey = await options.files.accountKey(() => acme.crypto.createPrivateEcdsaKey('P-256'));
  const client = new acme.Client({
    directoryUrl: options.directoryUrl,
    accountKey,
    backoffAttempts: 12,
    backoffMin: 1000,
    backoffMax: 10_000,
  });
  return client;
}

/** An ECDSA P-256 key (small and fast, accepted by every CA and browser) and a CSR for the names. */
export const makeCsr: CsrMaker = async (names) => {
  const privateKey = await acme.crypto.createPrivateEcdsaKey('P-256');
  const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: [...names] }, privateKey);
  return { privateKey, csr };
};
