import type { HostAsset, ManifestHash } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

/** A pod's ILP account: what it holds, in base units of the asset it was paid in. */
export interface PodAccount {
  hash: ManifestHash;
  balance: bigint;
  asset: HostAsset;
}

/**
 * Pods' own money (not the host's: it is never in the ledger). Each change is one statement against the
 * row, so it is committed before the packet that caused it is answered; a crash loses none.
 */
export interface PodAccountRepository {
  get(hash: ManifestHash): Promise<PodAccount | undefined>;
  list(): Promise<PodAccount[]>;
  /** Adds `amount` (> 0), creating the account; returns the new balance. */
  credit(hash: ManifestHash, amount: bigint, asset: HostAsset): Promise<bigint>;
  /** Takes `amount` (> 0) if the account holds that much; the new balance, or null (nothing changed). */
  debit(hash: ManifestHash, amount: bigint, asset: HostAsset): Promise<bigint | null>;
}

type Row = { hash: string; balance: string; asset_code: string; asset_scale: number };

const toAccount = (row: Row): PodAccount => ({
  hash: row.hash,
  balance: BigInt(row.balance),
  asset: { code: row.asset_code, scale: row.asset_scale },
});

export function createPodAccountRepository(db: SqlExecutor, now: () => number): PodAccountRepository {
  async function read(hash: ManifestHash): Promise<PodAccount | undefined> {
    const row = await db.get<Row>(
      'SELECT hash, balance, asset_code, asset_scale FROM pod_accounts WHERE hash = ?',
      [hash],
    );
    return row && toAccount(row);
  }

  async function write(hash: ManifestHash, balance: bigint, asset: HostAsset): Promise<void> {
    await db.run(
      `INSERT INTO pod_accounts (hash, balance, asset_code, asset_scale, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (hash) DO UPDATE SET balance = excluded.balance, updated_at = excluded.updated_at`,
      [hash, balance.toString(), asset.code, asset.scale, now()],
    );
  }

  function sameAsset(account: PodAccount | undefined, asset: HostAsset): void {
    if (account && (account.asset.code !== asset.code || account.asset.scale !== asset.scale)) {
      throw new Error(
        `pod account ${account.hash} is in ${account.asset.code}/${account.asset.scale}, not ${asset.code}/${asset.scale}`,
      );
    }
  }

  return {
    get: read,
    async list() {
      const rows = await db.all<Row>(
        'SELECT hash, balance, asset_code, asset_scale FROM pod_accounts ORDER BY hash',
      );
      return rows.map(toAccount);
    },
    async credit(hash, amount, asset) {
      if (amount <= 0n) throw new RangeError('a credit must be positive');
      const account = await read(hash);
      sameAsset(account, asset);
      const balance = (account?.balance ?? 0n) + amount;
      await write(hash, balance, asset);
      return balance;
    },
    async debit(hash, amount, asset) {
      if (amount <= 0n) throw new RangeError('a debit must be positive');
      const account = await read(hash);
      sameAsset(account, asset);
      if (!account || account.balance < amount) return null;
      const balance = account.balance - amount;
      await write(hash, balance, asset);
      return balance;
    },
  };
}
