import type { HostAsset, ManifestHash } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

/** What one payment is for: the request's pay token (as its hash), the manifest and the asset. */
export interface PaymentInFlight {
  payTokenHash: string;
  manifestHash: ManifestHash;
  asset: HostAsset;
}

/** The money of one payment that no ledger line has booked yet. */
export interface UnbookedPayment extends PaymentInFlight {
  amount: bigint;
}

/**
 * The write-ahead record of money being received: each packet's amount is written before its
 * fulfillment goes back, and the rows of a payment go when the ledger line booking it is written (in the
 * same transaction). Rows left after a crash are money received that nothing booked.
 */
export interface PaymentPacketRepository {
  record(payment: PaymentInFlight, amount: bigint): Promise<void>;
  /** Removes the rows of a payment: its ledger line books them. */
  settle(payTokenHash: string): Promise<void>;
  /** Payments with rows left, their amounts summed exactly. */
  unbooked(): Promise<UnbookedPayment[]>;
}

type PacketRow = {
  pay_token_hash: string;
  manifest_hash: string;
  amount: string;
  asset_code: string;
  asset_scale: number;
};

export function createPaymentPacketRepository(db: SqlExecutor, now: () => number): PaymentPacketRepository {
  return {
    async record(payment, amount) {
      if (amount <= 0n) throw new RangeError('a recorded packet amount must be positive');
      await db.run(
        `INSERT INTO payment_packets (at, pay_token_hash, manifest_hash, amount, asset_code, asset_scale)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [
          now(),
          payment.payTokenHash,
          payment.manifestHash,
          amount.toString(),
          payment.asset.code,
          payment.asset.scale,
        ],
      );
    },
    async settle(payTokenHash) {
      await db.run('DELETE FROM payment_packets WHERE pay_token_hash = ?', [payTokenHash]);
    },
    async unbooked() {
      const rows = await db.all<PacketRow>(
        'SELECT pay_token_hash, manifest_hash, amount, asset_code, asset_scale FROM payment_packets ORDER BY id',
      );
      const byPayment = new Map<string, UnbookedPayment>();
      for (const row of rows) {
        const key = `${row.pay_token_hash}:${row.asset_code}:${row.asset_scale}`;
        const known = byPayment.get(key);
        if (known) known.amount += BigInt(row.amount);
        else {
          byPayment.set(key, {
            payTokenHash: row.pay_token_hash,
            manifestHash: row.manifest_hash,
            asset: { code: row.asset_code, scale: row.asset_scale },
            amount: BigInt(row.amount),
          });
        }
      }
      return [...byPayment.values()];
    },
  };
}
