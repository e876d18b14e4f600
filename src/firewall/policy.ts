import type { AddressRule } from '../net/address-list.js';
import { nonPublicRules } from '../net/non-public.js';
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

/** Mail submission and relay, and SIP: refused to pods in every direction they could abuse. */
export const DEFAULT_BLOCKED_PORTS = '25/tcp, 465/tcp, 587/tcp, 5060/tcp, 5060/udp';

/**
 * What pods may not reach: every range that is not the public internet (addresses carrying an IPv4 address
 * inside included, which a firewall cannot look into), then the operator's own (CODIUS_POD_BLOCKED_NETWORKS).
 */
export function blockedNetworks(extra: readonly AddressRule[]): AddressRule[] {
  return [...nonPublicRules(), ...extra];
}
