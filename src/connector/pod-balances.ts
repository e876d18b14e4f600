import type { HostAsset, ManifestHash } from '../domain/types.js';
import type { PodAccount } from '../store/repositories/pod-accounts.js';
import type { Store } from '../store/store.js';

/**
 * Pods' balances, each change committed in a transaction of its own (read, check, write as one) before
 * the packet that caused it is answered: nothing a pod receives or spends is lost to a crash.
 */
export interface PodBalances {
  get(hash: ManifestHash): Promise<PodAccount | undefined>;
  credit(hash: ManifestHash, amount: bigint, asset: HostAsset): Promise<bigint>;
  /** Null when the pod holds less than `amount` (nothing is taken then). */
  debit(hash: ManifestHash, amount: bigint, asset: HostAsset): Promise<bigint | null>;
}

export function createPodBalances(store: Pick<Store, 'podAccounts' | 'transaction'>): PodBalances {
  return {
    get: (hash) => store.podAccounts.get(hash),
    credit: (hash, amount, asset) =>
      store.transaction((repos) => repos.podAccounts.credit(hash, amount, asset)),
    debit: (hash, amount, asset) =>
      store.transaction((repos) => repos.podAccounts.debit(hash, amount, asset)),
  };
}
