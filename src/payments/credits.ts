import type { HostAsset, ManifestHash } from '../domain/types.js';
import { createKeyedMutex } from '../util/keyed-mutex.js';

export interface CreditReservation {
  /** Credit set aside for one request (0 when the manifest has none). */
  readonly amount: bigint;
  /** Gives the reservation back; call after the ledger line that spends it is committed (or on failure). */
  release(): Promise<void>;
}

export interface CreditBook {
  /** Sets aside up to `upTo` of the manifest's credit so concurrent requests cannot spend it twice. */
  reserve(hash: ManifestHash, asset: HostAsset, upTo: bigint): Promise<CreditReservation>;
}

/**
 * Credit is what a manifest paid without being served (a pod that could not start, a short payment); its
 * balance is a sum over the ledger. Between pricing a request and committing it the request may wait a
 * minute for money, so the credit it counts on is reserved in memory meanwhile. Reading the balance,
 * reserving and releasing run under one lock per manifest: a release happens only after the spending line
 * is committed, so a reader sees either the reservation or the committed line, never neither.
 */
export function createCreditBook(
  balance: (hash: ManifestHash, asset: HostAsset) => Promise<bigint>,
): CreditBook {
  const mutex = createKeyedMutex();
  const reserved = new Map<string, bigint>();

  return {
    reserve(hash, asset, upTo) {
      const key = `${hash}:${asset.code}:${asset.scale}`;
      return mutex.run(key, async () => {
        const available = (await balance(hash, asset)) - (reserved.get(key) ?? 0n);
        const amount = available <= 0n || upTo <= 0n ? 0n : available < upTo ? available : upTo;
        if (amount > 0n) reserved.set(key, (reserved.get(key) ?? 0n) + amount);
        let released = amount === 0n;
        return {
          amount,
          release: () =>
            released
              ? Promise.resolve()
              : mutex.run(key, () => {
                  released = true;
                  const left = (reserved.get(key) ?? 0n) - amount;
                  if (left > 0n) reserved.set(key, left);
                  else reserved.delete(key);
                  return Promise.resolve();
                }),
        };
      });
    },
  };
}
