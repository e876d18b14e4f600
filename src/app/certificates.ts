import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAcmeIssuer } from '../acme/acme-issuer.js';
import { createCertificateFiles, readCertificate } from '../acme/certificate-files.js';
import { createCertificateManager, type CertificateManager } from '../acme/certificate-manager.js';
import { createHttpChallenges, dnsChallengeSolver, type HttpChallenges } from '../acme/challenge-solvers.js';
import { createDnsPublication } from '../acme/dns-publishers.js';
import { createPropagationCheck } from '../acme/propagation.js';
import {
  fixedTlsSource,
  type CertificateReport,
  type TlsMaterial,
  type TlsSource,
} from '../acme/tls-source.js';
import type { PhaseContext } from './phase-context.js';

/** Longest pause between retries of a failed order. */
const RETRY_MAX_MS = 6 * 3_600_000;

/** How the public port gets its certificates, when it serves TLS. */
export interface Certificates {
  tls: TlsSource;
  /** HTTP-01 proofs the plain-HTTP port serves. */
  httpChallenges: HttpChallenges;
  /** The ACME certificates, when codiusd obtains them. */
  manager: CertificateManager | null;
  /** Every certificate served, for the operator (metrics, admin API, dashboard). */
  status(): CertificateReport[];
}

/**
 * CODIUS_TLS_CERT/KEY, or CODIUS_ACME: the host's certificate (the host name and its wildcard, through
 * DNS-01) is loaded or obtained before anything listens, and renewed from then on. Null without TLS.
 */
export async function certificates(context: PhaseContext): Promise<Certificates | null> {
  const { config, logger, lifecycle } = context;
  const httpChallenges = createHttpChallenges();
  const files = config.proxy.tls;
  if (files) {
    const [cert, key] = await Promise.all([
      readFile(files.certFile, 'utf8'),
      readFile(files.keyFile, 'utf8'),
    ]);
    const info = readCertificate(cert);
    const report: CertificateReport = {
      name: info.names[0] ?? 'host',
      kind: 'host',
      source: 'files',
      names: info.names,
      notAfter: info.notAfter.toISOString(),
      renewAt: null,
      failures: 0,
      lastError: null,
    };
    return { tls: fixedTlsSource({ cert, key }), httpChallenges, manager: null, status: () => [report] };
  }
  const acme = config.https.acme;
  if (!acme) return null;
  // The ACME library and its X.509 stack weigh several MiB of memory: loaded only by a host that uses ACME.
  const { createAcmeClient, makeCsr } = await import('../acme/acme-client.js');

  const acmeLogger = logger.child({ component: 'acme' });
  const certificateFiles = createCertificateFiles(join(config.root, 'acme'));
  const publication = createDnsPublication(acme.dns, { logger: acmeLogger, env: process.env });
  const propagation = createPropagationCheck({
    resolvers: config.https.dnsResolvers,
    authoritative: publication.authoritative,
    timeoutMs: acme.propagationTimeoutMs,
    logger: acmeLogger,
  });
  const issuer = createAcmeIssuer({
    client: await createAcmeClient({
      directoryUrl: acme.directoryUrl,
      caRootFile: acme.caRootFile,
      files: certificateFiles,
    }),
    makeCsr,
    solvers: {
      'dns-01': dnsChallengeSolver(publication.publisher, propagation),
      'http-01': httpChallenges.solver,
    },
    contactEmail: acme.email,
    logger: acmeLogger,
  });
  const manager = createCertificateManager({
    issuer,
    files: certificateFiles,
    logger: acmeLogger,
    retryMinMs: acme.retryMinMs,
    retryMaxMs: RETRY_MAX_MS,
  });
  const host = new URL(config.publicUri).hostname.toLowerCase();
  acmeLogger.info({ directory: acme.directoryUrl, dns: publication.publisher.description }, 'ACME on');
  const first = await lifecycle.start(
    'host certificate',
    () => manager.manage({ name: host, names: [host, `*.${host}`], challenge: 'dns-01' }),
    () => manager.stop(),
  );
  let material: TlsMaterial = { cert: first.certificate, key: first.privateKey };
  const listeners: ((material: TlsMaterial) => Promise<void> | void)[] = [];
  manager.onRenewed(async (name, renewed) => {
    if (name !== host) return;
    material = { cert: renewed.certificate, key: renewed.privateKey };
    for (const listener of listeners) await listener(material);
  });
  return {
    tls: { current: () => material, onReplaced: (listener) => void listeners.push(listener) },
    httpChallenges,
    manager,
    status: () =>
      manager.status().map((entry) => ({
        ...entry,
        kind: entry.name === host ? 'host' : 'custom',
        source: 'acme',
      })),
  };
}
