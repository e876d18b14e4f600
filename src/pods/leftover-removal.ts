import type { ManifestHash } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PodRuntime } from '../runtime/driver.js';
import { DEFAULT_RETRY_SCHEDULE_MS, scheduledDelay } from '../util/backoff.js';
import type { PodRemoval } from './pod-removal.js';

/** Checks after one failed start, at most: about eight minutes on the default schedule. */
const MAX_ATTEMPTS = 20;

/**
 * Removes what a failed start left in the runtime. A driver removes the pod it could not start, but not
 * when the runtime died half-way (Podman's service killed between creating the pod and starting it): the
 * pod it made stays, unpaid. Each failed start is checked once the runtime answers again, retrying on the
 * shared schedule, so such a pod goes in seconds rather than at the next reconcile pass.
 */
export interface LeftoverRemoval {
  /** Checks for a runtime pod of `hash` soon, and removes it unless the manifest is paid by then. */
  check(hash: ManifestHash): void;
  /** Cancels the checks still waiting and waits for those under way. */
  stop(): Promise<void>;
}

export function createLeftoverRemoval(options: {
  runtime: Pick<PodRuntime, 'inspectPod'>;
  removal: Pick<PodRemoval, 'removeOrphan'>;
  logger: Logger;
  retryScheduleMs?: readonly number[];
}): LeftoverRemoval {
  const { runtime, removal, logger } = options;
  const schedule = options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  const waiting = new Map<ManifestHash, NodeJS.Timeout>();
  const underWay = new Set<Promise<void>>();
  let stopped = false;

  async function attempt(hash: ManifestHash, attemptNumber: number): Promise<void> {
    try {
      // Usually the driver cleaned up and this finds nothing; removeOrphan checks the record under the lock.
      if (await runtime.inspectPod(hash)) await removal.removeOrphan(hash);
    } catch (error) {
      if (attemptNumber + 1 >= MAX_ATTEMPTS) {
        logger.warn({ hash, err: error }, 'gave up removing what a failed start left; reconcile will');
        return;
      }
      later(hash, attemptNumber + 1, scheduledDelay(schedule, attemptNumber));
    }
  }

  function later(hash: ManifestHash, attemptNumber: number, delayMs: number): void {
    if (stopped) return;
    clearTimeout(waiting.get(hash));
    const timer = setTimeout(() => {
      waiting.delete(hash);
      const run = attempt(hash, attemptNumber).finally(() => underWay.delete(run));
      underWay.add(run);
    }, delayMs);
    timer.unref();
    waiting.set(hash, timer);
  }

  return {
    check: (hash) => later(hash, 0, 0),
    async stop() {
      stopped = true;
      for (const timer of waiting.values()) clearTimeout(timer);
      waiting.clear();
      await Promise.all(underWay);
    },
  };
}
