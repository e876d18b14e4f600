import type { SqlExecutor } from '../sqlite.js';

/** Small named values (settings learned at run time, counters) that need no table of their own. */
export interface KeyValueRepository {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export function createKeyValueRepository(db: SqlExecutor, now: () => number): KeyValueRepository {
  return {
    async get(key) {
      const row = await db.get<{ value: string }>('SELECT value FROM kv WHERE key = ?', [key]);
      return row?.value;
    },
    async set(key, value) {
      await db.run(
        `INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [key, value, now()],
      );
    },
    async delete(key) {
      const { changes } = await db.run('DELETE FROM kv WHERE key = ?', [key]);
      return changes > 0;
    },
  };
}
