import type { SqlExecutor } from '../sqlite.js';

/** Images codiusd pulled itself (never the operator's), with when a pod last used them. */
export interface ImageRepository {
  /** Records pulled images; an image already known keeps its pull time. */
  recordPulled(references: readonly string[]): Promise<void>;
  /** Marks known images as used now. */
  touch(references: readonly string[]): Promise<void>;
  /** Known images no pod has started with since `before`. */
  unusedSince(before: number): Promise<string[]>;
  forget(reference: string): Promise<void>;
  list(): Promise<Array<{ reference: string; pulledAt: number; lastUsedAt: number }>>;
}

export function createImageRepository(db: SqlExecutor, now: () => number): ImageRepository {
  return {
    async recordPulled(references) {
      for (const reference of references) {
        const at = now();
        await db.run(
          `INSERT INTO images (reference, pulled_at, last_used_at) VALUES (?, ?, ?)
           ON CONFLICT (reference) DO UPDATE SET last_used_at = excluded.last_used_at`,
          [reference, at, at],
        );
      }
    },
    async touch(references) {
      for (const reference of references) {
        await db.run('UPDATE images SET last_used_at = ? WHERE reference = ?', [now(), reference]);
      }
    },
    async unusedSince(before) {
      const rows = await db.all<{ reference: string }>(
        'SELECT reference FROM images WHERE last_used_at < ? ORDER BY last_used_at',
        [before],
      );
      return rows.map((row) => row.reference);
    },
    async forget(reference) {
      await db.run('DELETE FROM images WHERE reference = ?', [reference]);
    },
    async list() {
      const rows = await db.all<{ reference: string; pulled_at: number; last_used_at: number }>(
        'SELECT reference, pulled_at, last_used_at FROM images ORDER BY reference',
      );
      return rows.map((row) => ({
        reference: row.reference,
        pulledAt: row.pulled_at,
        lastUsedAt: row.last_used_at,
      }));
    },
  };
}
