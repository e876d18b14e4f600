import { randomInt } from 'node:crypto';
import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import { encodeQuery, parseTxtAnswer, TYPE_TXT } from '../acme/dns-message.js';
import { exchangeTcp, exchangeUdp, serverText, type DnsServer } from '../acme/dns-transport.js';
import { parseHostPort } from '../config/https.js';

export interface TxtRecords {
  values: string[];
  /** How long the answer may be kept, in seconds. */
  ttlSeconds: number;
}

/** The TXT values of a name, with their TTL (which Node's resolver does not report). */
export type TxtLookup = (name: string) => Promise<TxtRecords>;

export interface TxtLookupOptions {
  /** CODIUS_DNS_RESOLVER; empty: the system's resolvers. */
  servers: readonly DnsServer[];
  timeoutMs?: number;
  /** How long "no such record" is kept. */
  negativeTtlSeconds?: number;
}

const NXDOMAIN = 3;

/** Asks the resolvers in turn (UDP, TCP when the answer is truncated) until one answers. */
export function createTxtLookup(options: TxtLookupOptions): TxtLookup {
  const timeoutMs = options.timeoutMs ?? 3000;
  const negative = options.negativeTtlSeconds ?? 60;
  const servers = (): readonly DnsServer[] =>
    options.servers.length > 0
      ? options.servers
      : getServers().map((entry) => (isIP(entry) ? { host: entry, port: 53 } : parseHostPort(entry, 53)));

  return async (name) => {
    const failures: string[] = [];
    for (const server of servers()) {
      const query = encodeQuery(randomInt(0, 0x10000), name, TYPE_TXT);
      try {
        let answer = parseTxtAnswer(await exchangeUdp(server, query, timeoutMs));
        if (answer.truncated) answer = parseTxtAnswer(await exchangeTcp(server, query, timeoutMs));
        if (answer.rcode === 0 || answer.rcode === NXDOMAIN) {
          return { values: answer.values, ttlSeconds: answer.ttl ?? negative };
        }
        failures.push(`${serverText(server)}: rcode ${answer.rcode}`);
      } catch (error) {
        failures.push(`${serverText(server)}: ${(error as Error).message}`);
      }
    }
    throw new Error(`no resolver answered TXT ${name} (${failures.join('; ') || 'no resolvers'})`);
  };
}
