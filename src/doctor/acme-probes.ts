import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { readCertificate } from '../acme/certificate-files.js';
import { dnsChallengeName } from '../acme/challenge-solvers.js';
import { createDnsPublication } from '../acme/dns-publishers.js';
import { createPropagationCheck } from '../acme/propagation.js';
import type { Config } from '../config/config.js';
import { createLogger } from '../logger.js';

/** A certificate file codiusd keeps: what it covers, until when, and its file mode. */
export async function readCertificateFile(
  path: string,
): Promise<{ names: string[]; notAfter: Date; mode: number } | null> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { ...readCertificate(text), mode: info.mode & 0o777 };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * `codiusd doctor --acme`: publishes a TXT record as a DNS-01 challenge would, waits until every
 * authoritative server shows it, and removes it again, timing each step.
 */
export async function acmeDnsDryRun(
  config: Config,
): Promise<{ name: string; how: string; publishMs: number; visibleMs: number }> {
  const acme = config.https.acme;
  if (!acme) throw new Error('CODIUS_ACME is off');
  const logger = createLogger('silent');
  const publication = createDnsPublication(acme.dns, { logger, env: process.env });
  const propagation = createPropagationCheck({
    resolvers: config.https.dnsResolvers,
    authoritative: publication.authoritative,
    timeoutMs: Math.min(acme.propagationTimeoutMs, 120_000),
    logger,
  });
  const name = dnsChallengeName(new URL(config.publicUri).hostname);
  const value = `codiusd-doctor-${randomBytes(9).toString('base64url')}`;
  const started = Date.now();
  await publication.publisher.add(name, value);
  const published = Date.now();
  try {
    await propagation.waitFor(name, value);
  } finally {
    await publication.publisher.remove(name, value);
  }
  return {
    name,
    how: publication.publisher.description,
    publishMs: published - started,
    visibleMs: Date.now() - published,
  };
}
