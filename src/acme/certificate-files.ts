import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A certificate in service or ready for it: the chain and its key, PEM. */
export interface StoredCertificate {
  certificate: string;
  privateKey: string;
  notBefore: Date;
  notAfter: Date;
  /** The DNS names it covers. */
  names: string[];
}

/** Validity and names of the first certificate of a PEM chain. */
export function readCertificate(pem: string): { notBefore: Date; notAfter: Date; names: string[] } {
  const leaf = new X509Certificate(pem);
  const names = (leaf.subjectAltName ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
  return { notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), names };
}

export interface CertificateFiles {
  /** The ACME account key, made by `create` the first time. */
  accountKey(create: () => Promise<Buffer>): Promise<Buffer>;
  load(name: string): Promise<StoredCertificate | undefined>;
  save(name: string, issued: { certificate: string; privateKey: string }): Promise<StoredCertificate>;
  remove(name: string): Promise<void>;
  /** Failed first orders of a certificate in a row, kept across restarts; null after a success. */
  failures(name: string): Promise<{ count: number; at: number } | null>;
  recordFailure(name: string, failure: { count: number; at: number } | null): Promise<void>;
}

const SAFE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const KEY_PATTERN = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----\n?/;

/** Written whole or not at all, readable by codiusd's user only. */
async function writePrivate(path: string, text: string | Buffer): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/**
 * The ACME account key and the certificates under `<CODIUS_ROOT>/acme`, mode 600: one file per
 * certificate, its chain followed by its key (the form HAProxy reads too).
 */
export function createCertificateFiles(directory: string): CertificateFiles {
  const certificates = join(directory, 'certificates');
  const ready = mkdir(certificates, { recursive: true, mode: 0o700 }).then(() => chmod(directory, 0o700));
  const pathOf = (name: string): string => {
    if (!SAFE_NAME.test(name)) throw new Error(`not a certificate name: ${name}`);
    return join(certificates, `${name}.pem`);
  };

  return {
    async accountKey(create) {
      await ready;
      const path = join(directory, 'account.key');
      try {
        return await readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const key = await create();
      await writePrivate(path, key);
      return key;
    },
    async load(name) {
      await ready;
      let text: string;
      try {
        text = await readFile(pathOf(name), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      const privateKey = KEY_PATTERN.exec(text)?.[0];
      if (!privateKey) throw new Error(`${pathOf(name)} has no private key`);
      const certificate = text.replace(privateKey, '');
      return { certificate, privateKey, ...readCertificate(certificate) };
    },
    async save(name, issued) {
      await ready;
      const certificate = `${issued.certificate.trim()}\n`;
      const privateKey = `${issued.privateKey.trim()}\n`;
      await writePrivate(pathOf(name), certificate + privateKey);
      return { certificate, privateKey, ...readCertificate(certificate) };
    },
    async remove(name) {
      await rm(pathOf(name), { force: true });
    },
    async failures(name) {
      await ready;
      try {
        return JSON.parse(await readFile(`${pathOf(name)}.failures`, 'utf8')) as {
          count: number;
          at: number;
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async recordFailure(name, failure) {
      await ready;
      if (failure === null) await rm(`${pathOf(name)}.failures`, { force: true });
      else await writePrivate(`${pathOf(name)}.failures`, JSON.stringify(failure));
    },
  };
}
