import { readFile } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import { NftError, type Nft } from './nft.js';
import type { PodFirewallPolicy } from './policy.js';
import { policyFingerprint, renderRuleset } from './ruleset.js';

/** Bridged pod↔pod packets reach nftables only while this is 1 (the br_netfilter module). */
export const BRIDGE_NF_CALL = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/**
 * codiusd's own nftables table for the pod network. It is applied before the first pod runs, checked on
 * every reconcile (re-applied when it was removed or edited), and left in place when codiusd stops:
 * pods keep running, so they stay contained.
 */
export interface PodFirewall {
  readonly table: string;
  /** Checks the kernel can filter bridged traffic, then (re)applies the table atomically. */
  apply(): Promise<void>;
  /** Re-applies the table when it is missing or differs from the policy; says which. */
  ensure(): Promise<'present' | 'reapplied'>;
  /** The ruleset as nft lists it now. */
  listing(): Promise<string | null>;
}

export interface PodFirewallOptions {
  table: string;
  policy: PodFirewallPolicy;
  nft: Nft;
  logger: Logger;
  /** Reads a /proc/sys value (a seam for tests). */
  readSysctl?: (path: string) => Promise<string>;
}

export function createPodFirewall(options: PodFirewallOptions): PodFirewall {
  const { table, policy, nft, logger } = options;
  const readSysctl = options.readSysctl ?? ((path: string) => readFile(path, 'utf8'));
  const marker = `codiusd pod firewall ${policyFingerprint(policy)}`;

  async function checkBridgeFiltering(): Promise<void> {
    let value: string;
    try {
      value = (await readSysctl(BRIDGE_NF_CALL)).trim();
    } catch {
      throw new NftError(
        'bridged pod traffic bypasses nftables: the br_netfilter kernel module is not loaded (modprobe br_netfilter; scripts/setup-podman.sh does)',
      );
    }
    if (value !== '1') {
      throw new NftError(
        `bridged pod traffic bypasses nftables: ${BRIDGE_NF_CALL} is ${value}, not 1 (sysctl -w net.bridge.bridge-nf-call-iptables=1)`,
      );
    }
  }

  async function apply(): Promise<void> {
    await checkBridgeFiltering();
    await nft.apply(renderRuleset(table, policy));
    logger.info({ table: `inet ${table}`, bridge: policy.bridge }, 'pod firewall applied');
  }

  return {
    table,
    apply,
    async ensure() {
      const listed = await nft.listTable('inet', table);
      if (listed?.includes(marker)) return 'present';
      logger.warn(
        { table: `inet ${table}`, found: listed === null ? 'missing' : 'changed' },
        'pod firewall was not in place; re-applying it',
      );
      await apply();
      return 'reapplied';
    },
    listing: () => nft.listTable('inet', table),
  };
}
