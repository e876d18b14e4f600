import { parseAddressList, type AddressRule } from './address-list.js';

/**
 * Ranges that are not the public internet, IPv4 and IPv6: no pod reaches them, no peer or registry may be
 * in them. The one list every guard uses (the pod firewall, the Kubernetes NetworkPolicy, peers and
 * registries).
 */
export const NON_PUBLIC_NETWORKS: readonly string[] = [
  '0.0.0.0/8', // "this network", the unspecified address among it
  '10.0.0.0/8',
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, cloud metadata among it
  '172.16.0.0/12',
  '192.0.0.0/24', // protocol assignments
  '192.168.0.0/16',
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast among it
  '::/96', // unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d
  '::ffff:0:0:0/96', // IPv4-translated
  '64:ff9b:1::/48', // NAT64 for local use
  '100::/64', // discard-only
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated, still routed by some)
  'ff00::/8', // multicast
];

/**
 * Prefixes that carry an IPv4 address inside (NAT64's well-known prefix, 6to4): public exactly when that
 * IPv4 address is. A guard that cannot look inside an address (a firewall, a NetworkPolicy) blocks them whole.
 */
export const TRANSLATED_NETWORKS: readonly string[] = ['64:ff9b::/96', '2002::/16'];

function rules(list: readonly string[]): AddressRule[] {
  const parsed = parseAddressList(list.join(', '));
  if (!parsed) throw new Error('a built-in list of non-public networks does not parse');
  return parsed;
}

/** Everything a guard that cannot look inside addresses must block: both lists, as address rules. */
export function nonPublicRules(): AddressRule[] {
  return rules([...NON_PUBLIC_NETWORKS, ...TRANSLATED_NETWORKS]);
}

/** The ranges that are never public, whatever an address carries inside. */
export const NEVER_PUBLIC_RULES: readonly AddressRule[] = rules(NON_PUBLIC_NETWORKS);
