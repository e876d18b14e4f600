import type { HostAsset, ManifestHash } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

/** An incoming payment made on the host's wallet for one pay token, and what it is for. */
export interface OpenPaymentOffer {
  payTokenHash: string;
  /** The incoming payment's URL: the ledger's key for its money. */
  incomingPayment: string;
  manifestHash: ManifestHash;
  use: 'upload' | 'extend';
  durationSeconds: number;
  /** What it asks for, in base units of `asset`. */
  amount: bigint;
  asset: HostAsset;
  walletAddress: string;
  createdAt: number;
  expiresAt: number;
  /** When its money was booked (as time or credit), or it expired unpaid; null while open. */
  settledAt: number | null;
}

/**
 * The incoming payments codiusd made, each recorded before its 402 is answered: a payer's retry finds its
 * own again (one pay token, one incoming payment), and after a crash the open ones are read again so what
 * arrived is booked, never twice and never lost.
 */
export interface OpenPaymentRepository {
  record(offer: Omit<OpenPaymentOffer, 'settledAt'>): Promise<void>;
  byToken(payTokenHash: string): Promise<OpenPaymentOffer | undefined>;
  /** Open offers whose incoming payment expired before `at`, oldest first, at most `limit`. */
  expired(at: number, limit: number): Promise<OpenPaymentOffer[]>;
  settle(payTokenHash: string, at: number): Promise<void>;
}

type OfferRow = {
  pay_token_hash: string;
  incoming_payment: string;
  manifest_hash: string;
  use: string;
  duration_seconds: number;
  amount: string;
  asset_code: string;
  asset_scale: number;
  wallet_address: string;
  created_at: number;
  expires_at: number;
  settled_at: number | null;
};

function toOffer(row: OfferRow): OpenPaymentOffer {
  return {
    payTokenHash: row.pay_token_hash,
    incomingPayment: row.incoming_payment,
    manifestHash: row.manifest_hash,
    use: row.use === 'extend' ? 'extend' : 'upload',
    durationSeconds: row.duration_seconds,
    amount: BigInt(row.amount),
    asset: { code: row.asset_code, scale: row.asset_scale },
    walletAddress: row.wallet_address,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    settledAt: row.settled_at,
  };
}

export function createOpenPaymentRepository(db: SqlExecutor): OpenPaymentRepository {
  return {
    async record(offer) {
      await db.run(
        `INSERT INTO open_payments (pay_token_hash, incoming_payment, manifest_hash, use, duration_seconds, amount,
                                    asset_code, asset_scale, wallet_address, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          offer.payTokenHash,
          offer.incomingPayment,
          offer.manifestHash,
          offer.use,
          offer.durationSeconds,
          offer.amount.toString(),
          offer.asset.code,
          offer.asset.scale,
          offer.walletAddress,
          offer.createdAt,
          offer.expiresAt,
        ],
      );
    },
    async byToken(payTokenHash) {
      const row = await db.get<OfferRow>('SELECT * FROM open_payments WHERE pay_token_hash = ?', [
        payTokenHash,
      ]);
      return row ? toOffer(row) : undefined;
    },
    async expired(at, limit) {
      const rows = await db.all<OfferRow>(
        'SELECT * FROM open_payments WHERE settled_at IS NULL AND expires_at < ? ORDER BY expires_at LIMIT ?',
        [at, limit],
      );
      return rows.map(toOffer);
    },
    async settle(payTokenHash, at) {
      await db.run(
        'UPDATE open_payments SET settled_at = ? WHERE pay_token_hash = ? AND settled_at IS NULL',
        [at, payTokenHash],
      );
    },
  };
}
