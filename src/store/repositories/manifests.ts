import type { ManifestHash } from '../../domain/types.js';
import type { SqlExecutor } from '../sqlite.js';

/** Public manifests by hash, with the request's private vars sealed (never in clear). */
export interface ManifestRepository {
  get(hash: ManifestHash): Promise<unknown>;
  /**
   * Stores the public manifest; `sealedPrivateVars` (ciphertext from pods/private-vars.ts) replaces the
   * stored one only when given, so an upload without private vars keeps what an earlier one left.
   */
  put(hash: ManifestHash, manifest: unknown, sealedPrivateVars?: string | null): Promise<void>;
  getSealedPrivateVars(hash: ManifestHash): Promise<string | null>;
  delete(hash: ManifestHash): Promise<boolean>;
}

export function createManifestRepository(db: SqlExecutor, now: () => number): ManifestRepository {
  return {
    async get(hash) {
      const row = await db.get<{ manifest: string }>('SELECT manifest FROM manifests WHERE hash = ?', [hash]);
      return row === undefined ? undefined : (JSON.parse(row.manifest) as unknown);
    },
    async put(hash, manifest, sealedPrivateVars = null) {
      // A hash names exactly one manifest, so an existing row's manifest is already right.
      await db.run(
        `INSERT INTO manifests (hash, manifest, created_at, private_vars) VALUES (?, ?, ?, ?)
         ON CONFLICT (hash) DO UPDATE SET private_vars = COALESCE(excluded.private_vars, private_vars)`,
        [hash, JSON.stringify(manifest), now(), sealedPrivateVars],
      );
    },
    async getSealedPrivateVars(hash) {
      const row = await db.get<{ private_vars: string | null }>(
        'SELECT private_vars FROM manifests WHERE hash = ?',
        [hash],
      );
      return row?.private_vars ?? null;
    },
    async delete(hash) {
      const { changes } = await db.run('DELETE FROM manifests WHERE hash = ?', [hash]);
      return changes > 0;
    },
  };
}
