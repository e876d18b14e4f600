import type { AcmeDnsSettings } from '../config/https.js';
import type { Logger } from '../logger.js';
import type { DnsPublisher } from './dns-publisher.js';
import { createExecHookPublisher } from './exec-hook.js';
import type { DnsServer } from './propagation.js';
import { createRfc2136Publisher } from './rfc2136.js';
import type { TsigAlgorithm } from './tsig.js';

export interface DnsPublication {
  publisher: DnsPublisher;
  /** Servers known to be authoritative for the records published (asked before a challenge is answered). */
  authoritative: DnsServer[];
}

interface PublisherDependencies {
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

type PublisherFactory<K extends AcmeDnsSettings['kind']> = (
  settings: Extract<AcmeDnsSettings, { kind: K }>,
  dependencies: PublisherDependencies,
) => DnsPublication;

/** CODIUS_ACME_DNS: how each kind of publication is made. */
const PUBLISHERS: { [K in AcmeDnsSettings['kind']]: PublisherFactory<K> } = {
  rfc2136: (settings) => ({
    publisher: createRfc2136Publisher({
      server: settings.server,
      zone: settings.zone,
      key: { ...settings.tsig, algorithm: settings.tsig.algorithm as TsigAlgorithm },
    }),
    // The update server is the zone's primary: authoritative by definition.
    authoritative: [settings.server],
  }),
  exec: (settings, { logger, env }) => ({
    publisher: createExecHookPublisher({
      program: settings.hook,
      timeoutMs: settings.timeoutMs,
      logger: logger.child({ component: 'dns-hook' }),
      env,
    }),
    authoritative: [],
  }),
};

export function createDnsPublication(
  settings: AcmeDnsSettings,
  dependencies: PublisherDependencies,
): DnsPublication {
  const factory = PUBLISHERS[settings.kind] as PublisherFactory<typeof settings.kind>;
  return factory(settings, dependencies);
}
