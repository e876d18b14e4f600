import type { ManifestHash, PodRecord, PodState, PodUsage } from '../domain/types.js';

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
  /**
   * Pods in the running state and the memory every pod holds (terminating pods included, until the
   * runtime confirms their deletion): kept exact at every change, so reading it costs nothing.
   */
  usage(): PodUsage;
  /** How many pods are in each state. */
  countByState(): Record<PodState, number>;
  /** Calls `listener` with the hash of every pod whose record changed or went, after the change. */
  watch(listener: (hash: ManifestHash) => void): void;
  /** A number that changes at every change of a pod (what is derived from the pods may be kept until it does). */
  revision(): number;
}

export function createPodDirectory(): PodDirectory {
  const records = new Map<ManifestHash, PodRecord>();
  const listeners: Array<(hash: ManifestHash) => void> = [];
  const byState: Record<PodState, number> = { starting: 0, running: 0, terminating: 0 };
  let memoryMiB = 0;
  let revision = 0;
  const count = (record: PodRecord, sign: 1 | -1): void => {
    byState[record.state] += sign;
    memoryMiB += sign * record.memoryMiB;
  };
  const changed = (hash: ManifestHash): void => {
    revision += 1;
    for (const listener of listeners) listener(hash);
  };
  return {
    get: (hash) => records.get(hash),
    revision: () => revision,
    put(record) {
      const before = records.get(record.hash);
      if (before) count(before, -1);
      records.set(record.hash, record);
      count(record, 1);
      changed(record.hash);
    },
    remove(hash) {
      const before = records.get(hash);
      if (before) count(before, -1);
      records.delete(hash);
      changed(hash);
    },
    replaceAll(list) {
      const before = [...records.keys()];
      records.clear();
      byState.starting = byState.running = byState.terminating = 0;
      memoryMiB = 0;
      for (const record of list) {
        const replaced = records.get(record.hash);
        if (replaced) count(replaced, -1);
        records.set(record.hash, record);
        count(record, 1);
      }
      for (const hash of new Set([...before, ...records.keys()])) changed(hash);
    },
    size: () => records.size,
    usage: () => ({ runningCount: byState.running, reservedMemoryMiB: memoryMiB }),
    countByState: () => ({ ...byState }),
    watch(listener) {
      listeners.push(listener);
      // A late subscriber learns of every pod already known.
      for (const hash of records.keys()) listener(hash);
    },
  };
}
