import type { ManifestHash, PodRecord } from '../domain/types.js';

/**
 * The pod records in memory, for lookups on the proxy's hot path (one Map get, no I/O). The pod manager is
 * the only writer: it mirrors every committed store write here, so the directory never shows a pod the
 * store does not have, and loads the whole set when it starts.
 */
export interface PodDirectory {
  get(hash: ManifestHash): PodRecord | undefined;
  /** Called after a write of `record` has been committed to the store. */
  put(record: PodRecord): void;
  /** Called after the pod has been deleted from the store. */
  remove(hash: ManifestHash): void;
  replaceAll(records: readonly PodRecord[]): void;
  size(): number;
}

export function createPodDirectory(): PodDirectory {
  const records = new Map<ManifestHash, PodRecord>();
  return {
    get: (hash) => records.get(hash),
    put(record) {
      records.set(record.hash, record);
    },
    remove(hash) {
      records.delete(hash);
    },
    replaceAll(list) {
      records.clear();
      for (const record of list) records.set(record.hash, record);
    },
    size: () => records.size,
  };
}
