import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsMaterial } from '../../acme/tls-source.js';
import type { Logger } from '../../logger.js';
import type { HaproxyRuntimeApi } from './runtime-api.js';

export interface HaproxyCertificates {
  /** The host's certificate file (served by default). */
  readonly bundlePath: string;
  /** The crt-list HAProxy's TLS bind reads. */
  readonly listPath: string;
  /** Writes every certificate file and the list, before HAProxy (re)starts and reads them. */
  writeFiles(): Promise<void>;
  replaceDefault(material: TlsMaterial): Promise<void>;
  /** Serves a custom domain's certificate from now on (replacing the one it had). */
  add(name: string, material: TlsMaterial): Promise<void>;
}

/** Certificate chain then key, without blank lines (a blank line ends a runtime API payload). */
export const bundleOf = (tls: TlsMaterial): string =>
  `${tls.cert}\n${tls.key}`
    .split('\n')
    .filter((line) => line.trim() !== '')
    .join('\n') + '\n';

/** HAProxy wants certificate and key in one file; it is written for it, readable by codiusd only. */
async function writeBundle(path: string, tls: TlsMaterial): Promise<void> {
  await writeFile(path, bundleOf(tls), { mode: 0o600 });
  await chmod(path, 0o600);
}

/**
 * The certificates HAProxy serves, changed through its runtime API without a reload (connections open
 * keep theirs), and kept in files as well for a restart after a crash. The host's certificate is the
 * crt-list's first entry, served for any name no other certificate covers.
 */
export function createHaproxyCertificates(options: {
  directory: string;
  api: HaproxyRuntimeApi;
  host: TlsMaterial;
  logger: Logger;
}): HaproxyCertificates {
  const { directory, api, logger } = options;
  const bundlePath = join(directory, 'tls-bundle.pem');
  const listPath = join(directory, 'certificates.list');
  const customDirectory = join(directory, 'custom-certificates');
  let host = options.host;
  const custom = new Map<string, TlsMaterial>();
  const customPath = (name: string): string => join(customDirectory, `${name}.pem`);
  const listText = (): string => [bundlePath, ...[...custom.keys()].map(customPath)].join('\n') + '\n';

  /** Replaces a certificate HAProxy has, in one transaction (aborted if HAProxy refuses it). */
  async function swap(path: string, material: TlsMaterial): Promise<void> {
    try {
      await api.send(`set ssl cert ${path} <<\n${bundleOf(material)}`);
      await api.send(`commit ssl cert ${path}`);
    } catch (error) {
      await api.send(`abort ssl cert ${path}`).catch(() => undefined);
      throw error;
    }
  }

  return {
    bundlePath,
    listPath,
    async writeFiles() {
      await mkdir(customDirectory, { recursive: true, mode: 0o700 });
      await writeBundle(bundlePath, host);
      for (const [name, material] of custom) await writeBundle(customPath(name), material);
      await writeFile(listPath, listText(), { mode: 0o600 });
    },
    async replaceDefault(material) {
      host = material;
      await writeBundle(bundlePath, material);
      await swap(bundlePath, material);
      logger.info({ certificate: bundlePath }, 'HAProxy serves the new certificate');
    },
    async add(name, material) {
      const path = customPath(name);
      const known = custom.has(name);
      custom.set(name, material);
      await mkdir(customDirectory, { recursive: true, mode: 0o700 });
      await writeBundle(path, material);
      await writeFile(listPath, listText(), { mode: 0o600 });
      if (known) {
        await swap(path, material);
      } else {
        await api.send(`new ssl cert ${path}`);
        await swap(path, material);
        await api.send(`add ssl crt-list ${listPath} ${path}`);
      }
      logger.info({ name }, 'HAProxy serves the custom domain certificate');
    },
  };
}
