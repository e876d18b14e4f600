import type { ManifestHash } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PodRuntime } from '../runtime/driver.js';
import type { KeyedMutex } from '../util/keyed-mutex.js';
import type { PodHookEmitter } from './pod-hooks.js';
import type { PodRecords } from './pod-records.js';

/** Taking pods away: those whose time is up, and those nobody pays for. Under the pods' shared lock. */
export interface PodRemoval {
  /** Marks a pod whose time is up as terminating; false when it is not (or no longer) due. */
  expire(hash: ManifestHash): Promise<boolean>;
  /** Deletes a terminating pod from the runtime, then forgets it; throws when the runtime refuses. */
  remove(hash: ManifestHash): Promise<void>;
  /** Deletes a runtime pod of this host that nobody pays for; false when it turned out to be paid. */
  removeOrphan(hash: ManifestHash): Promise<boolean>;
}

export function createPodRemoval(options: {
  records: PodRecords;
  runtime: PodRuntime;
  hooks: PodHookEmitter;
  mutex: KeyedMutex;
  logger: Logger;
  now: () => number;
}): PodRemoval {
  const { records, runtime, hooks, mutex, logger, now } = options;
  return {
    expire(hash) {
      return mutex.run(hash, async () => {
        const record = await records.get(hash);
        if (!record || record.state === 'terminating' || record.expiresAt > now()) return false;
        await records.save({ ...record, state: 'terminating' });
        return true;
      });
    },
    remove(hash) {
      return mutex.run(hash, async () => {
        // The record stays until the runtime confirms, so a pod that still runs is never forgotten.
        const record = await records.get(hash);
        if (record?.state !== 'terminating') return;
        await runtime.deletePod(hash);
        await records.forget(hash);
        logger.info({ hash }, 'pod removed');
        await hooks.removed({ hash, record });
      });
    },
    removeOrphan(hash) {
      return mutex.run(hash, async () => {
        // Checked again under the lock: a start may have recorded the pod since the list was read.
        if (await records.get(hash)) return false;
        await runtime.deletePod(hash);
        return true;
      });
    },
  };
}
