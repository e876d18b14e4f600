import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { unmapped } from './address-list.js';
import { NEVER_PUBLIC_RULES } from './non-public.js';

/**
 * Addresses a peer or a registry may not be or resolve to on a production host: a peer list or a manifest
 * must not be able to point codiusd's requests at its own machine or network (server-side request forgery).
 */
const FORBIDDEN = new BlockList();
for (const rule of NEVER_PUBLIC_RULES) FORBIDDEN.addSubnet(rule.address, rule.prefix, rule.family);

/** The eight 16-bit groups of an IPv6 address (which may end in a dotted IPv4 part). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    text = `${text.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail = ''] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const middle = text.includes('::') ? Array<string>(8 - left.length - right.length).fill('0') : [];
  return [...left, ...middle, ...right].map((group) => Number.parseInt(group, 16));
}

/** The IPv4 address an IPv6 address stands for, where it embeds one: NAT64 (64:ff9b::/96) and 6to4 (2002::/16). */
function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address);
  const quad = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0))
    return quad(g[6] ?? 0, g[7] ?? 0);
  if (g[0] === 0x2002) return quad(g[1] ?? 0, g[2] ?? 0);
  return null;
}

/**
 * True for an address a production peer may have. IPv4-mapped IPv6 is judged by its IPv4 address, and so
 * are NAT64 and 6to4 addresses, which reach the IPv4 address they embed.
 */
export function isPublicAddress(raw: string): boolean {
  const address = unmapped(raw);
  const version = isIP(address);
  if (version === 0) return false;
  if (version === 6) {
    const embedded = embeddedIpv4(address);
    if (embedded !== null && FORBIDDEN.check(embedded, 'ipv4')) return false;
  }
  return !FORBIDDEN.check(address, version === 4 ? 'ipv4' : 'ipv6');
}

export class ForbiddenAddressError extends Error {
  constructor(hostname: string, address: string) {
    super(`${hostname} resolves to ${address}, which is not a public address`);
    this.name = 'ForbiddenAddressError';
  }
}

/**
 * A DNS lookup for HTTP agents that fails when any address of the name is not public. The check happens
 * on the addresses actually connected to, so a name cannot pass a check and then resolve elsewhere.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) {
      callback(error, '', 0);
      return;
    }
    const forbidden = addresses.find((entry) => !isPublicAddress(entry.address));
    if (forbidden) {
      callback(new ForbiddenAddressError(hostname, forbidden.address), '', 0);
      return;
    }
    if (options.all) {
      (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      return;
    }
    const first = addresses[0];
    if (!first) {
      callback(new Error(`no address for ${hostname}`), '', 0);
      return;
    }
    callback(null, first.address, first.family);
  });
};
