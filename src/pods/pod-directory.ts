import type { ManifestHash, PodRecord, PodState, PodUsage } from '../domain/types.js';

/**
 * The pod records in memory, for lookups on the proxy's hot path (one Map get, no I/O). The pod manager is
 * the only writer: it mirrors every committed store write here, so the directory never shows a pod the
 * store does not have. It starts empty and is filled page by page from the store once the host serves
 * (`fill`, then `markLoaded`); until then a missing pod may only not be loaded yet (`loaded()` is false),
 * and what must count every pod waits for `whenLoaded()`.
 */
export interface PodDirectory {
  get(hash: ManifestHash): PodRecord | undefined;
  /** Called after a write of `record` has been committed to the store. */
  put(record: PodRecord): void;
  /** Called after the pod has been deleted from the store. */
  remove(hash: ManifestHash): void;
  /**
   * Adds records read from the store during the load. A pod written or removed since the load began is
   * skipped: its write is newer than any page read before it.
   */
  fill(records: readonly PodRecord[]): void;
  /** Every stored pod has been filled in: from now on a missing pod is no pod. */
  markLoaded(): void;
  loaded(): boolean;
  /** Settles once every stored pod is in the directory (at once when it already is). */
  whenLoaded(): Promise<void>;
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
  // Hashes written while the load runs; dropped once it ends.
  let writtenDuringLoad: Set<ManifestHash> | undefined = new Set();
  let announceLoaded: () => void = () => undefined;
  const loadedPromise = new Promise<void>((resolve) => (announceLoaded = resolve));
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
      writtenDuringLoad?.add(record.hash);
      const before = records.get(record.hash);
      if (before) count(before, -1);
      records.set(record.hash, record);
      count(record, 1);
      changed(record.hash);
    },
    remove(hash) {
      writtenDuringLoad?.add(hash);
      const before = records.get(hash);
      if (before) count(before, -1);
      records.delete(hash);
      changed(hash);
    },
    fill(list) {
      const written = writtenDuringLoad;
      // After the load a page would be stale: the directory follows every write from then on.
      if (written === undefined) return;
      for (const record of list) {
        if (written.has(record.hash) || records.has(record.hash)) continue;
        records.set(record.hash, record);
        count(record, 1);
        changed(record.hash);
      }
    },
    markLoaded() {
      writtenDuringLoad = undefined;
      announceLoaded();
    },
    loaded: () => writtenDuringLoad === undefined,
    whenLoaded: () => loadedPromise,
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
