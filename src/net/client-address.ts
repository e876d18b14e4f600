import { isIP } from 'node:net';
import { createAddressMatcher, unmapped, type AddressRule } from './address-list.js';

/**
 * Who a request comes from, for per-client limits: the peer address, or, when the peer is a trusted proxy,
 * the nearest X-Forwarded-For entry that is not itself a trusted proxy. IPv6 clients are grouped by their
 * /64 (one subscriber's network), so rotating addresses within it does not multiply a client's share.
 */
export function createClientResolver(
  trustedProxies: readonly AddressRule[] | ((address: string | undefined) => boolean),
): (peer: string | undefined, forwardedFor: string | string[] | undefined) => string {
  // A caller that already matches addresses against the list (the pod router) passes its matcher.
  const isTrusted =
    typeof trustedProxies === 'function' ? trustedProxies : createAddressMatcher(trustedProxies);
  return (peer, forwardedFor) => {
    let client = unmapped(peer ?? 'unknown');
    if (isTrusted(peer) && forwardedFor !== undefined) {
      const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
        .split(',')
        .map((hop) => hop.trim())
        .filter((hop) => isIP(unmapped(hop)) !== 0);
      for (let i = hops.length - 1; i >= 0; i -= 1) {
        client = unmapped(hops[i] ?? client);
        if (!isTrusted(client)) break;
      }
    }
    return clientKey(client);
  };
}

/** An IPv6 address as its /64 prefix; anything else as it is. */
export function clientKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group || '0', 16).toString(16))
    .join(':')}::/64`;
}
