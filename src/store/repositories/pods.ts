import type { ManifestHash, PodRecord, PodState, PodUsage } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

export interface PodRepository {
  get(hash: ManifestHash): Promise<PodRecord | undefined>;
  list(): Promise<PodRecord[]>;
  /** Up to `limit` pods in hash order, after `after` (from the first with null): one page of the whole set. */
  listPage(after: ManifestHash | null, limit: number): Promise<PodRecord[]>;
  /** Inserts or replaces the whole record. */
  save(pod: PodRecord): Promise<void>;
  delete(hash: ManifestHash): Promise<boolean>;
  /** The live (not terminating) pod that expires first, for the expiry timer. */
  nextToExpire(): Promise<PodRecord | undefined>;
  /** Live pods whose paid time ended at or before `at`. */
  listDue(at: number): Promise<PodRecord[]>;
  listInState(state: PodState): Promise<PodRecord[]>;
  usage(): Promise<PodUsage>;
}

type PodRow = {
  hash: string;
  state: string;
  started_at: number;
  expires_at: number;
  memory_mib: number;
  total_uptime_s: number;
  port: number | null;
  ip: string | null;
};

function toRecord(row: PodRow): PodRecord {
  return {
    hash: row.hash,
    state: row.state as PodState,
    startedAt: row.started_at,
    expiresAt: row.expires_at,
    memoryMiB: row.memory_mib,
    totalUptimeSeconds: row.total_uptime_s,
    port: row.port,
    ip: row.ip,
  };
}

const COLUMNS = 'hash, state, started_at, expires_at, memory_mib, total_uptime_s, port, ip';

export function createPodRepository(db: SqlExecutor, now: () => number): PodRepository {
  return {
    async get(hash) {
      const row = await db.get<PodRow>(`SELECT ${COLUMNS} FROM pods WHERE hash = ?`, [hash]);
      return row && toRecord(row);
    },
    async list() {
      return (await db.all<PodRow>(`SELECT ${COLUMNS} FROM pods ORDER BY expires_at`)).map(toRecord);
    },
    async listPage(after, limit) {
      const rows = await db.all<PodRow>(`SELECT ${COLUMNS} FROM pods WHERE hash > ? ORDER BY hash LIMIT ?`, [
        after ?? '',
        limit,
      ]);
      return rows.map(toRecord);
    },
    async save(pod) {
      await db.run(
        `INSERT INTO pods (${COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (hash) DO UPDATE SET state = excluded.state, started_at = excluded.started_at,
           expires_at = excluded.expires_at, memory_mib = excluded.memory_mib,
           total_uptime_s = excluded.total_uptime_s, port = excluded.port, ip = excluded.ip,
           updated_at = excluded.updated_at`,
        [
          pod.hash,
          pod.state,
          pod.startedAt,
          pod.expiresAt,
          pod.memoryMiB,
          pod.totalUptimeSeconds,
          pod.port,
          pod.ip,
          now(),
        ],
      );
    },
    async delete(hash) {
      const { changes } = await db.run('DELETE FROM pods WHERE hash = ?', [hash]);
      return changes > 0;
    },
    async nextToExpire() {
      const row = await db.get<PodRow>(
        `SELECT ${COLUMNS} FROM pods WHERE state != 'terminating' ORDER BY expires_at LIMIT 1`,
      );
      return row && toRecord(row);
    },
    async listDue(at) {
      const rows = await db.all<PodRow>(
        `SELECT ${COLUMNS} FROM pods WHERE expires_at <= ? AND state != 'terminating' ORDER BY expires_at`,
        [at],
      );
      return rows.map(toRecord);
    },
    async listInState(state) {
      const rows = await db.all<PodRow>(`SELECT ${COLUMNS} FROM pods WHERE state = ? ORDER BY expires_at`, [
        state,
      ]);
      return rows.map(toRecord);
    },
    async usage() {
      // Pods still terminating hold their memory until the runtime confirms deletion.
      const row = await db.get<{ running: number; memory: number | null }>(
        `SELECT SUM(state = 'running') AS running, SUM(memory_mib) AS memory FROM pods`,
      );
      return { runningCount: row?.running ?? 0, reservedMemoryMiB: row?.memory ?? 0 };
    },
  };
}
