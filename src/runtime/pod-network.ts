import { formatIpv4, gatewayOf, parseIpv4Cidr } from '../net/ipv4.js';

/**
 * The network every pod of this host joins, as one value: the runtime driver creates it, and whatever
 * guards it (firewall rules, the pods' ILP endpoint) reads the same names and addresses.
 */
export interface PodNetwork {
  /** The runtime's network name. */
  readonly name: string;
  /** The Linux bridge interface pods hang off. */
  readonly bridge: string;
  /** IPv4 CIDR pods get their addresses from. */
  readonly subnet: string;
  /** The host's address on the bridge: pods' default route. */
  readonly gateway: string;
}

/** The description of the network `name` on `subnet` (a /8 to /28 IPv4 CIDR, host bits zero). */
export function describePodNetwork(name: string, subnet: string): PodNetwork {
  const cidr = parseIpv4Cidr(subnet);
  if (!cidr) throw new Error(`invalid pod subnet ${subnet}`);
  return {
    name,
    // One known bridge name, so firewall rules for pods have a single interface to match.
    bridge: `${name}0`,
    subnet: `${formatIpv4(cidr.network)}/${cidr.prefix}`,
    gateway: gatewayOf(cidr),
  };
}
