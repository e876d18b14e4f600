import { readFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import type { AddressRule } from '../net/address-list.js';

/** Where Podman takes containers' resolvers from: the host's, or systemd-resolved's upstream list. */
const RESOLV_CONF = '/etc/resolv.conf';
const RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';

function nameservers(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1] ?? '')
    .map((address) => address.split('%')[0] ?? '')
    .filter((address) => isIP(address) !== 0);
}

const isLoopback = (address: string): boolean => address === '::1' || address.startsWith('127.');

/**
 * The resolvers pods are given (the host's, loopback ones left out as Podman does) that sit in a blocked
 * range: a cloud resolver on 169.254.169.253 or a VPC's 10.x address. The firewall opens port 53 on exactly
 * these, or pods could resolve no name at all.
 */
export async function blockedPodResolvers(
  blocked: readonly AddressRule[],
  read: (path: string) => Promise<string> = (path) => readFile(path, 'utf8'),
): Promise<string[]> {
  let servers = nameservers(await read(RESOLV_CONF).catch(() => '')).filter((a) => !isLoopback(a));
  if (servers.length === 0) servers = nameservers(await read(RESOLVED_UPSTREAM).catch(() => ''));
  const list = new BlockList();
  for (const rule of blocked) list.addSubnet(rule.address, rule.prefix, rule.family);
  return servers.filter(
    (address) => !isLoopback(address) && list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4'),
  );
}
