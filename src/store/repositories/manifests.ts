import type { ManifestHash } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

/** Public manifests by hash. Private values must never be passed here. */
export interface ManifestRepository {
  get(hash: ManifestHash): Promise<unknown>;
  put(hash: ManifestHash, manifest: unknown): Promise<void>;
  delete(hash: ManifestHash): Promise<boolean>;
}

export function createManifestRepository(db: SqlExecutor, now: () => number): ManifestRepository {
  return {
    async get(hash) {
      const row = await db.get<{ manifest: string }>('SELECT manifest FROM manifests WHERE hash = ?', [hash]);
      return row === undefined ? undefined : (JSON.parse(row.manifest) as unknown);
    },
    async put(hash, manifest) {
      // A hash names exactly one manifest, so an existing row is already right.
      await db.run('INSERT OR IGNORE INTO manifests (hash, manifest, created_at) VALUES (?, ?, ?)', [
        hash,
        JSON.stringify(manifest),
        now(),
      ]);
    },
    async delete(hash) {
      const { changes } = await db.run('DELETE FROM manifests WHERE hash = ?', [hash]);
      return changes > 0;
    },
  };
}
