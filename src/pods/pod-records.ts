import type { ManifestHash, PodRecord } from '../domain/types.js';
import type { Repositories, Store } from '../store/store.js';
import type { PodDirectory } from './pod-directory.js';

/** Pods read per store query while the directory loads: a few milliseconds of work between requests. */
const LOAD_PAGE_SIZE = 2_000;

/** A pod that is paid for at `at`: recorded, not being removed, and not past its expiry. */
export function isLive(record: PodRecord | undefined, at: number): record is PodRecord {
  return record !== undefined && record.state !== 'terminating' && record.expiresAt > at;
}

/**
 * The one writer of pod records: every write goes to the store and, once committed, to the in-memory
 * directory the proxy reads, so the directory never shows a pod the store does not have. Writes take the
 * repositories of an open transaction when they are part of one.
 */
export interface PodRecords {
  get(hash: ManifestHash): Promise<PodRecord | undefined>;
  list(): Promise<PodRecord[]>;
  save(record: PodRecord, repos?: Repositories): Promise<void>;
  /** Forgets a pod and its stored manifest. */
  forget(hash: ManifestHash, repos?: Repositories): Promise<void>;
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  /**
   * Fills the directory from the store a page at a time, so that requests are answered between pages,
   * and marks it loaded.
   */
  loadDirectory(): Promise<void>;
}

export function createPodRecords(store: Store, directory: PodDirectory): PodRecords {
  return {
    get: (hash) => store.pods.get(hash),
    list: () => store.pods.list(),
    async save(record, repos = store) {
      await repos.pods.save(record);
      repos.afterCommit(() => directory.put(record));
    },
    async forget(hash, repos = store) {
      await repos.pods.delete(hash);
      await repos.manifests.delete(hash);
      repos.afterCommit(() => directory.remove(hash));
    },
    transaction: (work) => store.transaction(work),
    async loadDirectory() {
      let after: ManifestHash | null = null;
      for (;;) {
        const page = await store.pods.listPage(after, LOAD_PAGE_SIZE);
        directory.fill(page);
        const last = page.at(-1);
        if (page.length < LOAD_PAGE_SIZE || last === undefined) break;
        after = last.hash;
      }
      directory.markLoaded();
    },
  };
}
