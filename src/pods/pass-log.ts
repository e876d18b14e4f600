import type { ManifestHash } from '../domain/types.js';
import type { Logger } from '../logger.js';

/** Hashes named one by one per kind of event and pass; the rest are counted. */
export const PASS_LOG_SAMPLE = 10;

/** What a reconcile pass reports about single pods as it goes. */
export interface RepairLog {
  /** A paid pod was found stopped or missing in the runtime and is recreated. */
  lost(hash: ManifestHash, found: 'stopped' | 'missing'): void;
  /** A paid pod could not be recreated (it is tried again at a later pass). */
  failed(hash: ManifestHash, error: unknown): void;
}

export interface PassLog extends RepairLog {
  orphanRemoved(hash: ManifestHash): void;
  orphanNotRemoved(hash: ManifestHash, error: unknown): void;
  /** One line for the whole pass: its counts and a sample of hashes, when anything happened. */
  finish(counts: PassCounts): void;
}

/** What a pass did, in numbers. */
export interface PassCounts {
  recreated: number;
  failed: number;
  removedOrphans: number;
}

type Kind = 'lost' | 'failed' | 'orphanRemoved' | 'orphanNotRemoved';

/** Logs every event: a single pod's repair outside a pass (an extension that finds its pod lost). */
export function repairLogOf(logger: Logger): RepairLog {
  return {
    lost: (hash, found) => logger.warn({ hash, found }, 'paid pod is not running; recreating it'),
    failed: (hash, error) => logger.error({ hash, err: error }, 'could not recreate a paid pod; will retry'),
  };
}

/**
 * The log of one reconcile pass. After a restart that lost every pod of a large host, a line per pod (or one
 * line listing them all) would flood the journal; the first few of each kind are logged as they happen,
 * with the error where there is one, and the pass ends with counts and a bounded sample.
 */
export function createPassLog(logger: Logger, sample = PASS_LOG_SAMPLE): PassLog {
  const each = repairLogOf(logger);
  const counts: Record<Kind, number> = { lost: 0, failed: 0, orphanRemoved: 0, orphanNotRemoved: 0 };
  const samples: Record<Kind, ManifestHash[]> = {
    lost: [],
    failed: [],
    orphanRemoved: [],
    orphanNotRemoved: [],
  };
  /** Counts the event; true while its kind is still within the sample. */
  const note = (kind: Kind, hash: ManifestHash): boolean => {
    counts[kind] += 1;
    if (samples[kind].length >= sample) return false;
    samples[kind].push(hash);
    return true;
  };
  return {
    lost(hash, found) {
      if (note('lost', hash)) each.lost(hash, found);
    },
    failed(hash, error) {
      if (note('failed', hash)) each.failed(hash, error);
    },
    orphanRemoved(hash) {
      if (note('orphanRemoved', hash))
        logger.warn({ hash }, 'removed a pod of this host that nobody pays for');
    },
    orphanNotRemoved(hash, error) {
      if (note('orphanNotRemoved', hash)) {
        logger.warn({ hash, err: error }, 'could not remove an orphan pod; will retry');
      }
    },
    finish(done) {
      const events = Object.values(counts).reduce((sum, n) => sum + n, 0);
      if (events === 0) return;
      const logged = Object.values(samples).reduce((sum, hashes) => sum + hashes.length, 0);
      logger.info(
        {
          ...done,
          orphansNotRemoved: counts.orphanNotRemoved,
          sample: Object.fromEntries(Object.entries(samples).filter(([, hashes]) => hashes.length > 0)),
          notLoggedOneByOne: events - logged,
        },
        'reconciled pods with the runtime',
      );
    },
  };
}
