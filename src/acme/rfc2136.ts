import { randomInt } from 'node:crypto';
import { exchangeTcp, serverText, type DnsServer } from './dns-transport.js';
import { encodeTxtUpdate, parseAnswer, type TxtChange } from './dns-message.js';
import { DnsPublishError, type DnsPublisher } from './dns-publisher.js';
import { signMessage, TSIG_ERRORS, verifyAnswer, type TsigKey } from './tsig.js';

export interface Rfc2136Options {
  server: DnsServer;
  /** The zone the update is for (its apex). */
  zone: string;
  key: TsigKey;
  /** TTL of the records added: short, as they live only for one validation. */
  ttl?: number;
  timeoutMs?: number;
  now?: () => number;
}

const RCODES: Readonly<Record<number, string>> = {
  1: 'FORMERR (the server could not read the update)',
  2: 'SERVFAIL (the server failed to apply the update)',
  3: 'NXDOMAIN',
  4: 'NOTIMP (the server does not accept dynamic updates)',
  5: 'REFUSED (the server does not let this key update this name)',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH (the server is not authoritative for the zone, or the key was refused)',
  10: 'NOTZONE (the name is not inside the zone)',
};

function inZone(name: string, zone: string): boolean {
  const bare = (text: string): string => text.replace(/\.$/, '').toLowerCase();
  return bare(name) === bare(zone) || bare(name).endsWith(`.${bare(zone)}`);
}

/**
 * CODIUS_ACME_DNS=rfc2136: TXT records added and removed by dynamic DNS update (RFC 2136) signed with TSIG
 * (RFC 8945), which BIND, Knot, PowerDNS and many DNS hosts accept. Only the one record is deleted
 * (class NONE), so concurrent challenges on one name do not remove each other's values.
 */
export function createRfc2136Publisher(options: Rfc2136Options): DnsPublisher {
  const { server, zone, key } = options;
  const ttl = options.ttl ?? 60;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const where = serverText(server);

  async function update(change: TxtChange): Promise<void> {
    if (!inZone(change.name, zone)) {
      throw new DnsPublishError(`${change.name} is not inside CODIUS_ACME_RFC2136_ZONE ${zone}`);
    }
    const unsigned = encodeTxtUpdate(randomInt(0, 0x10000), zone, [change]);
    const signed = signMessage(unsigned, key, Math.floor(now() / 1000));
    let answer: Buffer;
    try {
      answer = await exchangeTcp(server, signed.message, timeoutMs);
    } catch (error) {
      throw new DnsPublishError(`DNS update to ${where} failed: ${(error as Error).message}`);
    }
    const parsed = parseAnswer(answer);
    const refused = `DNS server ${where} refused to ${change.action} TXT ${change.name} in zone ${zone}`;
    if (parsed.tsig) {
      const verdict = verifyAnswer(parsed.unsigned, parsed.tsig, key, signed.mac);
      if (verdict.error !== 0) {
        throw new DnsPublishError(`${refused}: TSIG ${TSIG_ERRORS[verdict.error] ?? verdict.error}`);
      }
      if (!verdict.authentic) throw new DnsPublishError(`${where} answered with a bad TSIG signature`);
    }
    if (parsed.rcode !== 0) {
      throw new DnsPublishError(`${refused}: ${RCODES[parsed.rcode] ?? `rcode ${parsed.rcode}`}`);
    }
    if (!parsed.tsig) throw new DnsPublishError(`${where} accepted the update with an unsigned answer`);
  }

  return {
    description: `RFC 2136 update of zone ${zone} at ${where} with TSIG key ${key.name} (${key.algorithm})`,
    add: (name, value) => update({ action: 'add', name, value, ttl }),
    remove: (name, value) => update({ action: 'delete', name, value, ttl: 0 }),
  };
}
