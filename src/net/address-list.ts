import { BlockList, isIP } from 'node:net';

/** One entry of an address list: a single address or a CIDR subnet, IPv4 or IPv6. */
export interface AddressRule {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses `10.0.0.1, 192.168.0.0/16, ::1, fd00::/8` (or `none` for an empty list). Null when any entry is
 * malformed, so a typo in a trust list is a startup error rather than silently trusting nobody.
 */
export function parseAddressList(text: string): AddressRule[] | null {
  if (text.trim().toLowerCase() === 'none') return [];
  const rules: AddressRule[] = [];
  for (const entry of text.split(',')) {
    const [address = '', prefixText, extra] = entry.trim().split('/');
    const version = isIP(address);
    if (version === 0 || extra !== undefined) return null;
    const max = version === 4 ? 32 : 128;
    if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (prefix > max) return null;
    rules.push({ address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' });
  }
  return rules;
}

/** IPv4 clients of a dual-stack listener show up as `::ffff:a.b.c.d`; this gives `a.b.c.d`. */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * A membership test over the rules (Node's BlockList). The last answer is remembered: nearly every
 * request comes from the same fronting proxy, so the common case is one string compare.
 */
export function createAddressMatcher(
  rules: readonly AddressRule[],
): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const rule of rules) list.addSubnet(rule.address, rule.prefix, rule.family);
  const last = { address: '', matches: false };
  return (raw) => {
    if (raw === undefined || rules.length === 0) return false;
    if (raw === last.address) return last.matches;
    const address = unmapped(raw);
    const version = isIP(address);
    const matches = version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
    last.address = raw;
    last.matches = matches;
    return matches;
  };
}
