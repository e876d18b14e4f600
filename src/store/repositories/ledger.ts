import type {
  AssetAccount,
  HostAsset,
  LedgerEntry,
  LedgerPurpose,
  ManifestHash,
} from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';
import type { PaymentPacketRepository } from './payment-packets.js';

/** A line to append; a line that names no method is STREAM's, and one without a reference names none. */
export type NewLedgerEntry = Omit<LedgerEntry, 'id' | 'at' | 'method' | 'paymentRef'> &
  Partial<Pick<LedgerEntry, 'method' | 'paymentRef'>>;

/** Every amount received and every credit movement, append-only. Profit and credit are sums over it. */
export interface LedgerRepository {
  append(entry: NewLedgerEntry): Promise<LedgerEntry>;
  listForManifest(hash: ManifestHash): Promise<LedgerEntry[]>;
  /** Credit a manifest holds in an asset: paid but not yet served. */
  creditBalance(hash: ManifestHash, asset: HostAsset): Promise<bigint>;
  /** Received, outstanding credit and earned per asset, exact (amounts may exceed 2^53). */
  accounts(): Promise<AssetAccount[]>;
  /** Received per payment method and asset, exact, with the number of lines that brought money. */
  receivedByMethod(): Promise<MethodReceipts[]>;
  /** Whether a line already books money received with this pay token. */
  booksPayment(payTokenHash: string): Promise<boolean>;
  /** Whether a line already books the money of this payment (a method's reference for it). */
  booksRef(paymentRef: string): Promise<boolean>;
  /** What each line since `at` (ms) added to received and earned, oldest first, at most `limit` lines. */
  movementsSince(at: number, limit: number): Promise<LedgerMovement[]>;
}

/** What one payment method brought in one asset (at one scale). */
export interface MethodReceipts {
  method: string;
  assetCode: string;
  assetScale: number;
  received: bigint;
  payments: number;
}

/** One line's effect on the money figures: received grows by amount, earned by amount − credit. */
export interface LedgerMovement {
  at: number;
  assetCode: string;
  assetScale: number;
  received: bigint;
  earned: bigint;
}

type LedgerRow = {
  id: number;
  at: number;
  manifest_hash: string | null;
  amount: string;
  credit: string;
  asset_code: string;
  asset_scale: number;
  purpose: string;
  pay_token_hash: string | null;
  method: string;
  payment_ref: string | null;
};

function toEntry(row: LedgerRow): LedgerEntry {
  return {
    id: row.id,
    at: row.at,
    manifestHash: row.manifest_hash,
    amount: row.amount,
    credit: row.credit,
    assetCode: row.asset_code,
    assetScale: row.asset_scale,
    purpose: row.purpose as LedgerPurpose,
    payTokenHash: row.pay_token_hash,
    method: row.method,
    paymentRef: row.payment_ref,
  };
}

const INTEGER = /^-?\d+$/;

type AmountRow = { asset_code: string; asset_scale: number; amount: string };

function sumByAsset(rows: (AmountRow & { credit: string })[]): AssetAccount[] {
  const byAsset = new Map<string, AssetAccount>();
  for (const row of rows) {
    const key = `${row.asset_code}:${row.asset_scale}`;
    const account = byAsset.get(key) ?? {
      assetCode: row.asset_code,
      assetScale: row.asset_scale,
      received: 0n,
      outstandingCredit: 0n,
      earned: 0n,
    };
    account.received += BigInt(row.amount);
    account.outstandingCredit += BigInt(row.credit);
    account.earned = account.received - account.outstandingCredit;
    byAsset.set(key, account);
  }
  return [...byAsset.values()];
}

function sumByMethod(rows: (AmountRow & { method: string })[]): MethodReceipts[] {
  const byKey = new Map<string, MethodReceipts>();
  for (const row of rows) {
    const key = `${row.method}:${row.asset_code}:${row.asset_scale}`;
    const receipts = byKey.get(key) ?? {
      method: row.method,
      assetCode: row.asset_code,
      assetScale: row.asset_scale,
      received: 0n,
      payments: 0,
    };
    receipts.received += BigInt(row.amount);
    receipts.payments += 1;
    byKey.set(key, receipts);
  }
  return [...byKey.values()];
}

// Amounts are summed in JavaScript with BigInt: sqlite's SUM would go through 64-bit integers or doubles.
/**
 * `packets`, when given, is the write-ahead record of payments being received: a line that books a
 * payment's money settles its rows, through the same executor, so in the same transaction.
 */
export function createLedgerRepository(
  db: SqlExecutor,
  now: () => number,
  packets?: Pick<PaymentPacketRepository, 'settle'>,
): LedgerRepository {
  return {
    async append(entry) {
      if (!/^\d+$/.test(entry.amount))
        throw new TypeError('ledger amount must be a non-negative integer string');
      if (!INTEGER.test(entry.credit)) throw new TypeError('ledger credit must be an integer string');
      const at = now();
      const { lastID } = await db.run(
        `INSERT INTO ledger (at, manifest_hash, amount, credit, asset_code, asset_scale, purpose, pay_token_hash,
                             method, payment_ref)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          at,
          entry.manifestHash,
          entry.amount,
          entry.credit,
          entry.assetCode,
          entry.assetScale,
          entry.purpose,
          entry.payTokenHash,
          entry.method ?? 'stream',
          entry.paymentRef ?? null,
        ],
      );
      if (packets && entry.payTokenHash !== null && entry.amount !== '0')
        await packets.settle(entry.payTokenHash);
      return {
        id: lastID,
        at,
        ...entry,
        method: entry.method ?? 'stream',
        paymentRef: entry.paymentRef ?? null,
      };
    },
    async listForManifest(hash) {
      const rows = await db.all<LedgerRow>('SELECT * FROM ledger WHERE manifest_hash = ? ORDER BY id', [
        hash,
      ]);
      return rows.map(toEntry);
    },
    async creditBalance(hash, asset) {
      const rows = await db.all<{ credit: string }>(
        `SELECT credit FROM ledger
         WHERE manifest_hash = ? AND asset_code = ? AND asset_scale = ? AND credit != '0'`,
        [hash, asset.code, asset.scale],
      );
      return rows.reduce((sum, row) => sum + BigInt(row.credit), 0n);
    },
    async accounts() {
      const rows = await db.all<{ asset_code: string; asset_scale: number; amount: string; credit: string }>(
        'SELECT asset_code, asset_scale, amount, credit FROM ledger ORDER BY id',
      );
      return sumByAsset(rows);
    },
    async receivedByMethod() {
      const rows = await db.all<{ method: string; asset_code: string; asset_scale: number; amount: string }>(
        "SELECT method, asset_code, asset_scale, amount FROM ledger WHERE amount != '0' ORDER BY id",
      );
      return sumByMethod(rows);
    },
    async booksPayment(payTokenHash) {
      const row = await db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM ledger WHERE pay_token_hash = ? AND amount != '0'",
        [payTokenHash],
      );
      return (row?.n ?? 0) > 0;
    },
    async booksRef(paymentRef) {
      const row = await db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM ledger WHERE payment_ref = ? AND amount != '0'",
        [paymentRef],
      );
      return (row?.n ?? 0) > 0;
    },
    async movementsSince(at, limit) {
      const rows = await db.all<{
        at: number;
        asset_code: string;
        asset_scale: number;
        amount: string;
        credit: string;
      }>('SELECT at, asset_code, asset_scale, amount, credit FROM ledger WHERE at >= ? ORDER BY id LIMIT ?', [
        at,
        limit,
      ]);
      return rows.map((row) => ({
        at: row.at,
        assetCode: row.asset_code,
        assetScale: row.asset_scale,
        received: BigInt(row.amount),
        earned: BigInt(row.amount) - BigInt(row.credit),
      }));
    },
  };
}
