import { isIP } from 'node:net';
import type { AddressRule } from '../net/address-list.js';
import type { PortRule } from '../net/port-list.js';
import type { PodFirewallPolicy } from './policy.js';

/** codiusd's nftables table for a pod network: `inet codius` for the default network, else named after it. */
export function firewallTableName(network: string): string {
  return network === 'codius' ? 'codius' : `codius-${network}`;
}

/** nft takes table names as bare identifiers; anything else is refused rather than escaped. */
const TABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;

const cidr = (rule: AddressRule): string => `${rule.address}/${rule.prefix}`;
const quoted = (name: string): string => `"${name.replace(/[^A-Za-z0-9_.-]/g, '')}"`;

function ports(rules: readonly PortRule[], protocol: PortRule['protocol']): number[] {
  return [...new Set(rules.filter((r) => r.protocol === protocol).map((r) => r.port))].sort((a, b) => a - b);
}

function setBlock(name: string, type: string, elements: readonly string[]): string[] {
  const listed = elements.length > 0 ? [`    elements = { ${elements.join(', ')} }`] : [];
  return [`  set ${name} {`, `    type ${type}; flags interval; auto-merge`, ...listed, '  }'];
}

/** Rules that open exactly `list` for protocol on packets matching `match`. */
function portRules(match: string, list: readonly PortRule[], verdict: string): string[] {
  return (['tcp', 'udp'] as const).flatMap((protocol) => {
    const numbers = ports(list, protocol);
    return numbers.length > 0 ? [`    ${match} ${protocol} dport { ${numbers.join(', ')} } ${verdict}`] : [];
  });
}

/** The sets and chains of the table. */
function tableBody(policy: PodFirewallPolicy): string[] {
  if (isIP(policy.gateway) !== 4)
    throw new Error(`not an IPv4 gateway address: ${JSON.stringify(policy.gateway)}`);
  const bridge = quoted(policy.bridge);
  const from = `iifname ${bridge}`;
  const v4 = policy.blockedNetworks.filter((r) => r.family === 'ipv4').map(cidr);
  const v6 = policy.blockedNetworks.filter((r) => r.family === 'ipv6').map(cidr);
  const resolverRules = policy.resolvers.flatMap((address) => {
    const family = isIP(address) === 6 ? 'ip6' : 'ip';
    return [
      `    ${from} ${family} daddr ${address} udp dport 53 accept`,
      `    ${from} ${family} daddr ${address} tcp dport 53 accept`,
    ];
  });
  return [
    ...setBlock('blocked_v4', 'ipv4_addr', v4),
    ...setBlock('blocked_v6', 'ipv6_addr', v6),
    '  chain forward {',
    '    type filter hook forward priority filter - 10; policy accept;',
    // Pod to pod, whatever the port or family: never, not even an answer.
    `    ${from} oifname ${bridge} drop`,
    ...resolverRules,
    `    ${from} ip daddr @blocked_v4 drop`,
    `    ${from} ip6 daddr @blocked_v6 drop`,
    ...portRules(
      from,
      policy.blockedPorts.filter((r) => r.protocol === 'tcp'),
      'reject with tcp reset',
    ),
    ...portRules(
      from,
      policy.blockedPorts.filter((r) => r.protocol === 'udp'),
      'reject',
    ),
    // Into pods only what answers them; new connections come from the host itself (the proxy).
    `    oifname ${bridge} ct state established,related accept`,
    `    oifname ${bridge} drop`,
    '  }',
    '  chain input {',
    '    type filter hook input priority filter - 10; policy accept;',
    `    ${from} ct state established,related accept`,
    ...portRules(`${from} ip daddr ${policy.gateway}`, policy.hostPorts, 'accept'),
    // Every address of the host itself, the gateway included.
    `    ${from} drop`,
    '  }',
  ];
}

/**
 * The nft script that replaces codiusd's table atomically (one transaction: the table is created if
 * missing, deleted and defined anew), touching no other table. Applied with `nft -f -`.
 */
export function renderRuleset(table: string, policy: PodFirewallPolicy): string {
  if (!TABLE_NAME.test(table)) throw new Error(`not a usable nftables table name: ${JSON.stringify(table)}`);
  const name = table;
  return [
    `table inet ${name}`,
    `delete table inet ${name}`,
    `table inet ${name} {`,
    '  comment "codiusd pod firewall"',
    ...tableBody(policy),
    '}',
    '',
  ].join('\n');
}
