import { createSecureContext, type SecureContext } from 'node:tls';
import type { TlsMaterial } from '../acme/tls-source.js';
import { createCustomDomains, hostName, type CustomDomains } from '../domains/custom-domains.js';
import { createTxtLookup } from '../domains/txt-lookup.js';
import type { PodDirectory } from '../pods/pod-directory.js';
import { resolvePod } from '../proxy/routing.js';
import type { Certificates } from './certificates.js';
import type { PhaseContext } from './phase-context.js';

export interface CustomDomainService {
  domains: CustomDomains;
  /** Called with each custom domain's certificate, obtained or renewed: the proxy engine serves it. */
  onCertificate(install: (name: string, material: TlsMaterial) => Promise<void>): void;
}

/** Custom domains, where the host obtains certificates itself (CODIUS_ACME) and allows any per pod. */
export function customDomainsFor(
  context: PhaseContext,
  certificates: Certificates | null,
  directory: PodDirectory,
): CustomDomainService | null {
  const { config, logger } = context;
  const manager = certificates?.manager;
  if (!manager || config.https.customDomains.perPod === 0) return null;
  const publicHost = new URL(config.publicUri).hostname.toLowerCase();
  const installers: ((name: string, material: TlsMaterial) => Promise<void>)[] = [];
  const domains = createCustomDomains({
    publicHost,
    lookupTxt: createTxtLookup({ servers: config.https.dnsResolvers }),
    podServes: (hash) => resolvePod(hash, directory.get(hash), Date.now()).ok,
    podsKnown: () => directory.whenLoaded(),
    certificates: manager,
    perPod: config.https.customDomains.perPod,
    ordersPerHour: config.https.customDomains.ordersPerHour,
    onCertificate: async (name, material) => {
      for (const install of installers) await install(name, material);
    },
    logger: logger.child({ component: 'custom-domains' }),
  });
  manager.onRenewed(async (name, renewed) => {
    if (name === publicHost) return;
    for (const install of installers)
      await install(name, { cert: renewed.certificate, key: renewed.privateKey });
  });
  return { domains, onCertificate: (install) => void installers.push(install) };
}

/**
 * The built-in engine's SNI: the host's names get the default certificate at once; another name gets its
 * custom domain's certificate, obtained on its first handshake, or the default one when it has none.
 */
export function sniCallback(
  publicHost: string,
  domains: CustomDomains,
): (serverName: string, done: (error: Error | null, context?: SecureContext) => void) => void {
  const contexts = new Map<string, { cert: string; context: SecureContext }>();
  return (serverName, done) => {
    const name = hostName(serverName);
    if (name === null || name === publicHost || name.endsWith(`.${publicHost}`)) {
      done(null);
      return;
    }
    domains.certificateFor(name).then(
      (material) => {
        if (!material) {
          done(null);
          return;
        }
        let cached = contexts.get(name);
        if (cached?.cert !== material.cert) {
          cached = { cert: material.cert, context: createSecureContext(material) };
          contexts.set(name, cached);
        }
        done(null, cached.context);
      },
      () => done(null),
    );
  };
}
