import { Resolver } from 'node:dns/promises';
import type { Logger } from '../logger.js';
import { sleep } from '../util/sleep.js';
import { serverText, type DnsServer } from './dns-transport.js';

export type { DnsServer } from './dns-transport.js';

export interface PropagationOptions {
  /** CODIUS_DNS_RESOLVER, or none for the system's resolvers. */
  resolvers: readonly DnsServer[];
  /** Servers known to be authoritative besides those the zone's NS records name (the update server). */
  authoritative: readonly DnsServer[];
  timeoutMs: number;
  intervalMs?: number;
  logger: Logger;
}

export interface PropagationCheck {
  /** Resolves once every authoritative server of the name's zone answers the TXT value. */
  waitFor(name: string, value: string): Promise<void>;
}

function resolverFor(servers: readonly DnsServer[]): Resolver {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers.map(serverText));
  return resolver;
}

/** The addresses of the name servers of the closest enclosing zone that has NS records. */
async function zoneServers(resolver: Resolver, name: string): Promise<string[]> {
  const labels = name.replace(/\.$/, '').split('.');
  for (let i = 0; i < labels.length - 1; i += 1) {
    const candidate = labels.slice(i).join('.');
    const hosts = await resolver.resolveNs(candidate).catch(() => [] as string[]);
    if (hosts.length === 0) continue;
    const addresses = await Promise.all(
      hosts.map(async (host) => [
        ...(await resolver.resolve4(host).catch(() => [] as string[])),
        ...(await resolver.resolve6(host).catch(() => [] as string[])),
      ]),
    );
    return addresses.flat();
  }
  return [];
}

/**
 * Before a DNS-01 challenge is answered, the record must be visible at every authoritative server of its
 * zone, or the CA may ask one that has not seen it yet and fail the order. Name servers are found through
 * the resolvers; one at the address of a configured server (the update server, a resolver) is asked on
 * that server's port, the others on port 53.
 */
export function createPropagationCheck(options: PropagationOptions): PropagationCheck {
  const { logger, timeoutMs } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const lookup = resolverFor(options.resolvers);

  async function authoritativeServers(name: string): Promise<DnsServer[]> {
    const known = new Map(
      [...options.resolvers, ...options.authoritative].map((server) => [server.host, server.port]),
    );
    const found = (await zoneServers(lookup, name)).map((host) => ({ host, port: known.get(host) ?? 53 }));
    const all = [...options.authoritative, ...found];
    const unique = new Map(all.map((server) => [serverText(server), server]));
    if (unique.size > 0) return [...unique.values()];
    // Nothing says who is authoritative: the resolvers' view is the best evidence there is.
    return options.resolvers.length > 0 ? [...options.resolvers] : [{ host: 'system resolver', port: 0 }];
  }

  async function shows(server: DnsServer, name: string, value: string): Promise<boolean> {
    const resolver = server.port === 0 ? lookup : resolverFor([server]);
    const records = await resolver.resolveTxt(name).catch(() => [] as string[][]);
    return records.some((chunks) => chunks.join('') === value);
  }

  return {
    async waitFor(name, value) {
      const started = Date.now();
      const servers = await authoritativeServers(name);
      let waiting = servers;
      for (;;) {
        const seen = await Promise.all(waiting.map((server) => shows(server, name, value)));
        waiting = waiting.filter((_, i) => !seen[i]);
        if (waiting.length === 0) {
          logger.info(
            { name, servers: servers.map(serverText), ms: Date.now() - started },
            'TXT record visible',
          );
          return;
        }
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `TXT ${name} not visible at ${waiting.map(serverText).join(', ')} after ${timeoutMs} ms`,
          );
        }
        await sleep(intervalMs);
      }
    },
  };
}
