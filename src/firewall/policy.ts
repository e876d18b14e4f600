import type { AddressRule } from '../net/address-list.js';
import { parseAddressList } from '../net/address-list.js';
import type { PortRule } from '../net/port-list.js';

/**
 * What pods may reach, as one value the ruleset is rendered from. Everything not named here is the public
 * internet, which pods reach freely.
 */
export interface PodFirewallPolicy {
  /** The Linux bridge pods hang off (matched by name, so it may come and go with the pods). */
  bridge: string;
  /** The host's address on the bridge: the one address of the host pods may reach, on `hostPorts` only. */
  gateway: string;
  /** Destinations pods must never reach: the host's networks, private and special ranges. */
  blockedNetworks: AddressRule[];
  /** Ports refused to pods anywhere (mail, SIP): abuse that would land on the host's reputation. */
  blockedPorts: PortRule[];
  /** Ports of the host itself that pods may use on the gateway address (the pods' ILP endpoint). */
  hostPorts: PortRule[];
  /**
   * Resolvers pods use that sit in a blocked range (a cloud's resolver on a link-local or private
   * address): port 53 on them alone stays open.
   */
  resolvers: string[];
}

/** Ranges that are not the public internet (a pod has no business there), IPv4 and IPv6. */
export const NON_PUBLIC_NETWORKS: readonly string[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];

/** Mail submission and relay, and SIP: refused to pods in every direction they could abuse. */
export const DEFAULT_BLOCKED_PORTS = '25/tcp, 465/tcp, 587/tcp, 5060/tcp, 5060/udp';

/** The default blocked ranges followed by the operator's own (CODIUS_POD_BLOCKED_NETWORKS). */
export function blockedNetworks(extra: readonly AddressRule[]): AddressRule[] {
  const defaults = parseAddressList(NON_PUBLIC_NETWORKS.join(', '));
  if (!defaults) throw new Error('the built-in list of blocked networks does not parse');
  return [...defaults, ...extra];
}
