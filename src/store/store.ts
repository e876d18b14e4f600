import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { migrate } from './migrations.js';
import { openDatabase, type SqlExecutor, type SqliteDatabase } from './sqlite.js';
import { createImageRepository, type ImageRepository } from './repositories/images.js';
import { createKeyValueRepository, type KeyValueRepository } from './repositories/kv.js';
import { createLedgerRepository, type LedgerRepository } from './repositories/ledger.js';
import { createManifestRepository, type ManifestRepository } from './repositories/manifests.js';
import {
  createPaymentPacketRepository,
  type PaymentPacketRepository,
} from './repositories/payment-packets.js';
import { createOpenPaymentRepository, type OpenPaymentRepository } from './repositories/open-payments.js';
import { createPeerRepository, type PeerRepository } from './repositories/peers.js';
import { createPodAccountRepository, type PodAccountRepository } from './repositories/pod-accounts.js';
import { createPodRepository, type PodRepository } from './repositories/pods.js';
import { createRenewalRepository, type RenewalRepository } from './repositories/renewals.js';

/** The repositories, bound either to the database or to one open transaction. */
export interface Repositories {
  kv: KeyValueRepository;
  manifests: ManifestRepository;
  pods: PodRepository;
  peers: PeerRepository;
  ledger: LedgerRepository;
  images: ImageRepository;
  podAccounts: PodAccountRepository;
  paymentPackets: PaymentPacketRepository;
  openPayments: OpenPaymentRepository;
  renewals: RenewalRepository;
  /**
   * Runs `callback` once the writes made through these repositories are committed: at once outside a
   * transaction, after COMMIT inside one, never when it rolls back. Lets a module keep memory in step
   * with the store without knowing whose transaction it writes in.
   */
  afterCommit(callback: () => void): void;
}

export interface Store extends Repositories {
  /** Runs multi-row changes atomically: `work` gets repositories bound to the transaction. */
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  /** Where the data lives (`:memory:` for an in-memory store). */
  readonly location: string;
  /** Grows with every write; equal values mean nothing was written in between. */
  writeCount(): number;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Directory holding `codius.sqlite`; ignored for an in-memory store. */
  root: string;
  inMemory: boolean;
  now?: () => number;
  /** How long to wait for another process to release the database before giving up. */
  lockWaitMs?: number;
}

export const STORE_FILE = 'codius.sqlite';

/** Another process (normally a second codiusd) holds the store. */
export class StoreLockedError extends Error {
  constructor(readonly location: string) {
    super(`another codiusd is already using ${location}; stop it or choose another CODIUS_ROOT`);
    this.name = 'StoreLockedError';
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

function bind(db: SqlExecutor, now: () => number, afterCommit: (callback: () => void) => void): Repositories {
  return {
    afterCommit,
    kv: createKeyValueRepository(db, now),
    manifests: createManifestRepository(db, now),
    pods: createPodRepository(db, now),
    peers: createPeerRepository(db, now),
    ledger: createLedgerRepository(db, now, createPaymentPacketRepository(db, now)),
    images: createImageRepository(db, now),
    podAccounts: createPodAccountRepository(db, now),
    paymentPackets: createPaymentPacketRepository(db, now),
    openPayments: createOpenPaymentRepository(db),
    renewals: createRenewalRepository(db),
  };
}

/**
 * Opens (creating and migrating as needed) the store. The file is opened in EXCLUSIVE locking mode and
 * written once at open, so this process holds the lock until it exits: a second daemon on the same root
 * fails fast, and a crashed one leaves no stale lock behind (the OS drops it).
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const now = options.now ?? Date.now;
  const location = options.inMemory ? ':memory:' : join(options.root, STORE_FILE);
  // Create the file ourselves so it (and the -wal/-shm files sqlite derives from it) is private.
  if (!options.inMemory) await (await open(location, 'a', 0o600)).close();
  const db: SqliteDatabase = await openDatabase(location);
  try {
    await db.exec('PRAGMA busy_timeout = 0');
    if (!options.inMemory) {
      await db.exec('PRAGMA locking_mode = EXCLUSIVE');
      await db.exec('PRAGMA journal_mode = WAL');
      await db.exec('PRAGMA synchronous = NORMAL');
      // Take the exclusive lock now, before anything else touches the file.
      await db.exec('BEGIN EXCLUSIVE; COMMIT');
    }
    await migrate(db);
    await db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.lockWaitMs ?? 5000)}`);
  } catch (error) {
    await db.close().catch(() => undefined);
    if (isBusy(error)) throw new StoreLockedError(location);
    throw error;
  }

  return {
    ...bind(db, now, (callback) => callback()),
    location,
    writeCount: () => db.writeCount(),
    async transaction(work) {
      const committed: Array<() => void> = [];
      const result = await db.transaction((tx) =>
        work(bind(tx, now, (callback) => committed.push(callback))),
      );
      for (const callback of committed) callback();
      return result;
    },
    close: () => db.close(),
  };
}

/**
 * Wraps a read so it hits the database only after the store has been written since the last read: exact
 * (no time-based staleness) and free on hot paths such as GET /info. Concurrent callers share one read.
 */
export function cachedUntilWrite<T>(
  store: Pick<Store, 'writeCount'>,
  read: () => Promise<T>,
): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    const at = store.writeCount();
    if (cached?.at !== at) {
      const value = read();
      const entry = { at, value };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}
