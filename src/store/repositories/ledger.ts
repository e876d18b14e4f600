import type { LedgerEntry, LedgerPurpose, ManifestHash } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

export type NewLedgerEntry = Omit<LedgerEntry, 'id' | 'at'>;

/** Every amount received, append-only. Profit and credits are derived from it, never kept beside it. */
export interface LedgerRepository {
  append(entry: NewLedgerEntry): Promise<LedgerEntry>;
  listForManifest(hash: ManifestHash): Promise<LedgerEntry[]>;
  /** Sum of received amounts per asset, exact (amounts may exceed 2^53). */
  totals(): Promise<Array<{ assetCode: string; assetScale: number; amount: bigint }>>;
}

type LedgerRow = {
  id: number;
  at: number;
  manifest_hash: string | null;
  amount: string;
  asset_code: string;
  asset_scale: number;
  purpose: string;
  pay_token_hash: string | null;
};

function toEntry(row: LedgerRow): LedgerEntry {
  return {
    id: row.id,
    at: row.at,
    manifestHash: row.manifest_hash,
    amount: row.amount,
    assetCode: row.asset_code,
    assetScale: row.asset_scale,
    purpose: row.purpose as LedgerPurpose,
    payTokenHash: row.pay_token_hash,
  };
}

export function createLedgerRepository(db: SqlExecutor, now: () => number): LedgerRepository {
  return {
    async append(entry) {
      if (!/^-?\d+$/.test(entry.amount)) throw new TypeError(`ledger amount must be an integer string`);
      const at = now();
      const { lastID } = await db.run(
        `INSERT INTO ledger (at, manifest_hash, amount, asset_code, asset_scale, purpose, pay_token_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          at,
          entry.manifestHash,
          entry.amount,
          entry.assetCode,
          entry.assetScale,
          entry.purpose,
          entry.payTokenHash,
        ],
      );
      return { id: lastID, at, ...entry };
    },
    async listForManifest(hash) {
      const rows = await db.all<LedgerRow>('SELECT * FROM ledger WHERE manifest_hash = ? ORDER BY id', [
        hash,
      ]);
      return rows.map(toEntry);
    },
    async totals() {
      const rows = await db.all<{ asset_code: string; asset_scale: number; amount: string }>(
        'SELECT asset_code, asset_scale, amount FROM ledger ORDER BY id',
      );
      const sums = new Map<string, { assetCode: string; assetScale: number; amount: bigint }>();
      for (const row of rows) {
        const key = `${row.asset_code}:${row.asset_scale}`;
        const sum = sums.get(key) ?? { assetCode: row.asset_code, assetScale: row.asset_scale, amount: 0n };
        sum.amount += BigInt(row.amount);
        sums.set(key, sum);
      }
      return [...sums.values()];
    },
  };
}
