import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { unmapped } from './address-list.js';

/**
 * Addresses a peer may not be or resolve to on a production host: a peer list must not be able to point
 * codiusd's requests at its own machine or network (the original allowed that: SSRF).
 */
const FORBIDDEN = new BlockList();
for (const [address, prefix] of [
  ['0.0.0.0', 8], // "this network", includes the unspecified address
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes broadcast
] as const) {
  FORBIDDEN.addSubnet(address, prefix, 'ipv4');
}
for (const [address, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  FORBIDDEN.addSubnet(address, prefix, 'ipv6');
}

/** True for an address a production peer may have. IPv4-mapped IPv6 is judged by its IPv4 address. */
export function isPublicAddress(raw: string): boolean {
  const address = unmapped(raw);
  const version = isIP(address);
  if (version === 0) return false;
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
