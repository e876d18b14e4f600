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
  /** Calls `listener` with the hash of every pod whose record changed or went, after the change. */
  watch(listener: (hash: ManifestHash) => void): void;
}

export function createPodDirectory(): PodDirectory {
  const records = new Map<ManifestHash, PodRecord>();
  const listeners: Array<(hash: ManifestHash) => void> = [];
  const changed = (hash: ManifestHash): void => {
    for (const listener of listeners) listener(hash);
  };
  return {
    get: (hash) => records.get(hash),
    put(record) {
      records.set(record.hash, record);
      changed(record.hash);
    },
    remove(hash) {
      records.delete(hash);
      changed(hash);
    },
    replaceAll(list) {
      const before = [...records.keys()];
      records.clear();
      for (const record of list) records.set(record.hash, record);
      for (const hash of new Set([...before, ...records.keys()])) changed(hash);
    },
    size: () => records.size,
    watch(listener) {
      listeners.push(listener);
      // A late subscriber learns of every pod already known.
      for (const hash of records.keys()) listener(hash);
    },
  };
}
