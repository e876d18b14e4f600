import type { PeerRecord } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

export interface PeerRepository {
  /** Peer URIs in the order they were added, at most `limit` of them. */
  listUris(limit?: number): Promise<string[]>;
  get(uri: string): Promise<PeerRecord | undefined>;
  /** Whole records, those seen most recently first, at most `limit`. */
  list(limit: number): Promise<PeerRecord[]>;
  count(): Promise<number>;
  /** Adds a peer; returns false when it was already known. */
  add(uri: string): Promise<boolean>;
  remove(uri: string): Promise<boolean>;
  recordSuccess(uri: string): Promise<void>;
  /** Returns the number of consecutive failures after this one. */
  recordFailure(uri: string): Promise<number>;
}

type PeerRow = { uri: string; added_at: number; last_seen_at: number | null; consecutive_failures: number };

const toRecord = (row: PeerRow): PeerRecord => ({
  uri: row.uri,
  addedAt: row.added_at,
  lastSeenAt: row.last_seen_at,
  consecutiveFailures: row.consecutive_failures,
});

export function createPeerRepository(db: SqlExecutor, now: () => number): PeerRepository {
  return {
    async listUris(limit = -1) {
      const rows = await db.all<{ uri: string }>('SELECT uri FROM peers ORDER BY added_at, rowid LIMIT ?', [
        limit,
      ]);
      return rows.map((r) => r.uri);
    },
    async get(uri) {
      const row = await db.get<PeerRow>(
        'SELECT uri, added_at, last_seen_at, consecutive_failures FROM peers WHERE uri = ?',
        [uri],
      );
      return row && toRecord(row);
    },
    async list(limit) {
      const rows = await db.all<PeerRow>(
        `SELECT uri, added_at, last_seen_at, consecutive_failures FROM peers
         ORDER BY last_seen_at IS NULL, last_seen_at DESC, added_at LIMIT ?`,
        [limit],
      );
      return rows.map(toRecord);
    },
    async count() {
      const row = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM peers');
      return row?.n ?? 0;
    },
    async add(uri) {
      const { changes } = await db.run('INSERT OR IGNORE INTO peers (uri, added_at) VALUES (?, ?)', [
        uri,
        now(),
      ]);
      return changes > 0;
    },
    async remove(uri) {
      const { changes } = await db.run('DELETE FROM peers WHERE uri = ?', [uri]);
      return changes > 0;
    },
    async recordSuccess(uri) {
      await db.run('UPDATE peers SET last_seen_at = ?, consecutive_failures = 0 WHERE uri = ?', [now(), uri]);
    },
    async recordFailure(uri) {
      await db.run('UPDATE peers SET consecutive_failures = consecutive_failures + 1 WHERE uri = ?', [uri]);
      const row = await db.get<{ n: number }>('SELECT consecutive_failures AS n FROM peers WHERE uri = ?', [
        uri,
      ]);
      return row?.n ?? 0;
    },
  };
}
