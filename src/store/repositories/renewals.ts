import type { ManifestHash } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

/** A pod kept running from its tenant's wallet: what each renewal buys, and when the next is due. */
export interface Renewal {
  manifestHash: ManifestHash;
  /** The tenant's wallet (JSON of its description). */
  walletJson: string;
  /** The grant's access token and manage URL, sealed with the host secret. */
  grantSealed: string;
  durationSeconds: number;
  /** The grant's ISO 8601 repeating interval, as the tenant approved it. */
  interval: string;
  nextAt: number;
  active: boolean;
  stopReason: string | null;
  stopKeyHash: string;
  renewed: number;
  createdAt: number;
}

/** Renewals, one per manifest: a new one replaces the old. */
export interface RenewalRepository {
  put(renewal: Renewal): Promise<void>;
  get(hash: ManifestHash): Promise<Renewal | undefined>;
  byStopKey(stopKeyHash: string): Promise<Renewal | undefined>;
  /** Active renewals due at `at`, soonest first, at most `limit`. */
  due(at: number, limit: number): Promise<Renewal[]>;
  /** After a renewal: the next is due at `nextAt`, and the grant (rotated) is `grantSealed`. */
  renewed(hash: ManifestHash, nextAt: number, grantSealed: string): Promise<void>;
  /** Tried again at `nextAt` (the wallet did not answer). */
  postpone(hash: ManifestHash, nextAt: number): Promise<void>;
  stop(hash: ManifestHash, reason: string): Promise<void>;
  countActive(): Promise<number>;
}

type RenewalRow = {
  manifest_hash: string;
  wallet_json: string;
  grant_sealed: string;
  duration_seconds: number;
  interval_text: string;
  next_at: number;
  active: number;
  stop_reason: string | null;
  stop_key_hash: string;
  renewed: number;
  created_at: number;
};

function toRenewal(row: RenewalRow): Renewal {
  return {
    manifestHash: row.manifest_hash,
    walletJson: row.wallet_json,
    grantSealed: row.grant_sealed,
    durationSeconds: row.duration_seconds,
    interval: row.interval_text,
    nextAt: row.next_at,
    active: row.active === 1,
    stopReason: row.stop_reason,
    stopKeyHash: row.stop_key_hash,
    renewed: row.renewed,
    createdAt: row.created_at,
  };
}

export function createRenewalRepository(db: SqlExecutor): RenewalRepository {
  const one = async (sql: string, value: string) => {
    const row = await db.get<RenewalRow>(sql, [value]);
    return row ? toRenewal(row) : undefined;
  };
  return {
    async put(r) {
      await db.run(
        `INSERT OR REPLACE INTO renewals (manifest_hash, wallet_json, grant_sealed, duration_seconds, interval_text,
                                          next_at, active, stop_reason, stop_key_hash, renewed, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.manifestHash,
          r.walletJson,
          r.grantSealed,
          r.durationSeconds,
          r.interval,
          r.nextAt,
          r.active ? 1 : 0,
          r.stopReason,
          r.stopKeyHash,
          r.renewed,
          r.createdAt,
        ],
      );
    },
    get: (hash) => one('SELECT * FROM renewals WHERE manifest_hash = ?', hash),
    byStopKey: (keyHash) => one('SELECT * FROM renewals WHERE stop_key_hash = ?', keyHash),
    async due(at, limit) {
      const rows = await db.all<RenewalRow>(
        'SELECT * FROM renewals WHERE active = 1 AND next_at <= ? ORDER BY next_at LIMIT ?',
        [at, limit],
      );
      return rows.map(toRenewal);
    },
    async renewed(hash, nextAt, grantSealed) {
      await db.run(
        'UPDATE renewals SET next_at = ?, grant_sealed = ?, renewed = renewed + 1 WHERE manifest_hash = ?',
        [nextAt, grantSealed, hash],
      );
    },
    async postpone(hash, nextAt) {
      await db.run('UPDATE renewals SET next_at = ? WHERE manifest_hash = ?', [nextAt, hash]);
    },
    async stop(hash, reason) {
      await db.run('UPDATE renewals SET active = 0, stop_reason = ? WHERE manifest_hash = ? AND active = 1', [
        reason,
        hash,
      ]);
    },
    async countActive() {
      const row = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM renewals WHERE active = 1');
      return row?.n ?? 0;
    },
  };
}
