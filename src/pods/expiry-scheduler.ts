import type { ManifestHash } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PodRepository } from '../store/repositories/pods.js';
import { exponentialDelay } from '../util/backoff.js';
import type { PodRemoval } from './pod-removal.js';

/** The expiry timer never sleeps longer than this, so a wall-clock jump is noticed within a minute. */
const MAX_TIMER_MS = 60_000;
/** Removal retries back off from this up to the maximum. */
const REMOVAL_RETRY_BASE_MS = 1_000;
const MAX_REMOVAL_DELAY_MS = 60_000;

export interface ExpirySchedulerOptions {
  pods: Pick<PodRepository, 'nextToExpire' | 'listDue'>;
  removal: Pick<PodRemoval, 'expire' | 'remove'>;
  logger: Logger;
  now: () => number;
}

/**
 * When pods go: one timer on the earliest expiry in the store (an indexed query), re-armed whenever the
 * schedule may have changed; due pods are marked terminating and removed, and a removal the runtime
 * refuses is retried with backoff until it succeeds. The record stays until the runtime confirms.
 */
export interface ExpiryScheduler {
  /** (Re)arms the timer on the next expiry. */
  arm(): void;
  /** Marks every pod whose time is up as terminating and starts removing it. */
  expireDue(): Promise<void>;
  /** Starts removing a terminating pod (no-op when a removal of it is already pending). */
  scheduleRemoval(hash: ManifestHash): void;
  /**
   * Resolves once no expiry is being handled: no sweep of due pods and no removal under way or about to
   * start (a removal waiting to retry after a failure does not count). Reconcile passes wait for it
   * before each pod, so pods whose time is up go when due, however many pods a pass has to go through.
   */
  idle(): Promise<void>;
  stop(): void;
}

export function createExpiryScheduler(options: ExpirySchedulerOptions): ExpiryScheduler {
  const { pods, removal, logger, now } = options;
  /** Pending removals; `first` ones (not retries) count as expiry work from the moment they are set. */
  const removals = new Map<ManifestHash, { timer: NodeJS.Timeout; first: boolean }>();
  let timer: NodeJS.Timeout | undefined;
  let generation = 0;
  let stopped = false;
  /** Sweeps and removals under way or about to start, and who waits for there to be none. */
  let working = 0;
  const idleWaiters: Array<() => void> = [];
  const begin = (): void => {
    working += 1;
  };
  const end = (): void => {
    working -= 1;
    if (working === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  function retryRemoval(hash: ManifestHash, attempt: number): void {
    if (stopped || (attempt === 0 && removals.has(hash))) return;
    const delay =
      attempt === 0 ? 0 : exponentialDelay(attempt - 1, REMOVAL_RETRY_BASE_MS, MAX_REMOVAL_DELAY_MS);
    const replaced = removals.get(hash);
    if (replaced) {
      clearTimeout(replaced.timer);
      if (replaced.first) end();
    }
    const first = attempt === 0;
    if (first) begin();
    const pending = setTimeout(() => {
      removals.delete(hash);
      if (!first) begin();
      removal
        .remove(hash)
        .catch((error: unknown) => {
          logger.warn({ hash, err: error, attempt }, 'pod removal failed; retrying');
          retryRemoval(hash, attempt + 1);
        })
        .finally(end);
    }, delay);
    removals.set(hash, { timer: pending, first });
  }

  async function expireDue(): Promise<void> {
    begin();
    try {
      for (const due of await pods.listDue(now())) {
        if (await removal.expire(due.hash)) {
          logger.info({ hash: due.hash }, 'pod expired; removing it');
          retryRemoval(due.hash, 0);
        }
      }
    } finally {
      end();
    }
  }

  function arm(): void {
    if (stopped) return;
    const current = (generation += 1);
    pods.nextToExpire().then(
      (next) => {
        if (stopped || current !== generation) return;
        clearTimeout(timer);
        timer = undefined;
        if (!next) return;
        const delay = Math.min(Math.max(0, next.expiresAt - now()), MAX_TIMER_MS);
        timer = setTimeout(() => {
          timer = undefined;
          expireDue()
            .catch((error: unknown) => logger.error({ err: error }, 'expiring pods failed'))
            .finally(arm);
        }, delay);
      },
      (error: unknown) => logger.error({ err: error }, 'could not read the next pod expiry'),
    );
  }

  return {
    arm,
    expireDue,
    scheduleRemoval: (hash) => retryRemoval(hash, 0),
    idle: () => (working === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
    stop() {
      stopped = true;
      clearTimeout(timer);
      for (const pending of removals.values()) clearTimeout(pending.timer);
      removals.clear();
      // Nothing is handled any more: whoever waits goes on (and finds the host stopping).
      working = 0;
      for (const resolve of idleWaiters.splice(0)) resolve();
    },
  };
}
