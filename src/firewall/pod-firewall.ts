import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import type { PodNetwork } from '../runtime/pod-network.js';
import { NftError, type Nft } from './nft.js';
import type { PodFirewallPolicy } from './policy.js';
import { renderRuleset } from './ruleset.js';

/** Bridged pod↔pod packets reach nftables only while this is 1 (the br_netfilter module). */
export const BRIDGE_NF_CALL = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/** The part of the pod network the rules are rendered for: the bridge pods use and the host's address on it. */
export type FirewalledNetwork = Pick<PodNetwork, 'bridge' | 'gateway'>;

/**
 * codiusd's own nftables table for the pod network. It is applied before the first pod runs, checked
 * before every reconcile pass and every few seconds in between (re-applied when it was removed, flushed or
 * edited), and left in place when codiusd stops: pods keep running, so they stay contained.
 */
export interface PodFirewall {
  readonly table: string;
  /** Checks the kernel filters bridged traffic, then (re)applies the table atomically for `network`. */
  apply(network: FirewalledNetwork): Promise<void>;
  /**
   * Makes sure bridged traffic is filtered (setting the sysctl back to 1 when it was changed) and that the
   * table holds exactly the rules applied for `network`; re-applies it otherwise. Says which. Throws
   * NftError when it cannot.
   */
  ensure(network: FirewalledNetwork): Promise<'present' | 'reapplied'>;
  /** The ruleset as nft lists it now. */
  listing(): Promise<string | null>;
}

export interface PodFirewallOptions {
  table: string;
  /** Everything but the network it guards, which is read from the runtime. */
  policy: Omit<PodFirewallPolicy, 'bridge' | 'gateway'>;
  nft: Nft;
  logger: Logger;
  /** Reads and writes a /proc/sys value (seams for tests). */
  readSysctl?: (path: string) => Promise<string>;
  writeSysctl?: (path: string, value: string) => Promise<void>;
}

export function createPodFirewall(options: PodFirewallOptions): PodFirewall {
  const { table, nft, logger } = options;
  const readSysctl = options.readSysctl ?? ((path: string) => readFile(path, 'utf8'));
  const writeSysctl = options.writeSysctl ?? ((path: string, value: string) => writeFile(path, value));
  /** What nft listed right after the last apply, and for which network: the rules as the kernel holds them. */
  let applied: { network: string; listing: string | null } | undefined;
  const key = (network: FirewalledNetwork): string => `${network.bridge} ${network.gateway}`;

  async function bridgeFiltering(): Promise<string> {
    try {
      return (await readSysctl(BRIDGE_NF_CALL)).trim();
    } catch {
      throw new NftError(
        'bridged pod traffic bypasses nftables: the br_netfilter kernel module is not loaded (modprobe br_netfilter; scripts/setup-podman.sh does)',
      );
    }
  }

  /** Bridged traffic must reach nftables; a value changed under codiusd is set back. */
  async function requireBridgeFiltering(): Promise<void> {
    const value = await bridgeFiltering();
    if (value === '1') return;
    logger.warn(
      { sysctl: BRIDGE_NF_CALL, found: value },
      'bridged pod traffic bypassed nftables; setting it back to 1',
    );
    try {
      await writeSysctl(BRIDGE_NF_CALL, '1');
    } catch {
      // Reported below with what to do.
    }
    const now = await bridgeFiltering();
    if (now !== '1') {
      throw new NftError(
        `bridged pod traffic bypasses nftables: ${BRIDGE_NF_CALL} is ${now}, not 1 (sysctl -w net.bridge.bridge-nf-call-iptables=1)`,
      );
    }
  }

  async function apply(network: FirewalledNetwork): Promise<void> {
    await requireBridgeFiltering();
    await nft.apply(renderRuleset(table, { ...options.policy, ...network }));
    applied = { network: key(network), listing: await nft.listTable('inet', table) };
    logger.info({ table: `inet ${table}`, bridge: network.bridge }, 'pod firewall applied');
  }

  return {
    table,
    apply,
    async ensure(network) {
      await requireBridgeFiltering();
      const listed = await nft.listTable('inet', table);
      if (applied && applied.network === key(network) && listed !== null && listed === applied.listing) {
        return 'present';
      }
      const found = listed === null ? 'missing' : applied?.network === key(network) ? 'changed' : 'stale';
      if (applied)
        logger.warn({ table: `inet ${table}`, found }, 'pod firewall was not in place; re-applying it');
      await apply(network);
      return 'reapplied';
    },
    listing: () => nft.listTable('inet', table),
  };
}
