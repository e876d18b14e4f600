import type { ManifestHash } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PodRuntime } from '../runtime/driver.js';
import type { ExpiryScheduler } from './expiry-scheduler.js';
import type { PodLifecycle } from './pod-lifecycle.js';
import type { PodRemoval } from './pod-removal.js';
import type { PodRecords } from './pod-records.js';

/** Until the runtime first answers, it is retried at least this often. */
const UNREADY_RETRY_MS = 5_000;

export interface ReconcileReport {
  /** Paid pods that were missing or dead in the runtime and run again. */
  recreated: ManifestHash[];
  /** Paid pods that could not be run again (retried at the next pass). */
  failed: ManifestHash[];
  /** Runtime pods with this host's label that nobody pays for, deleted. */
  removedOrphans: ManifestHash[];
}

/**
 * A condition pods run under (the pod firewall): checked before every pass, and consulted whenever
 * readiness is asked, since it may be found broken between passes.
 */
export interface ReconcileGuard {
  /** Throws when pods must not run (the pass fails). */
  check(): Promise<unknown>;
  /** Whether the last check, wherever it ran, found the condition holding. */
  holds(): boolean;
}

export interface ReconcilerOptions {
  runtime: Pick<PodRuntime, 'name' | 'prepare' | 'listPods'>;
  records: Pick<PodRecords, 'list'>;
  lifecycle: Pick<PodLifecycle, 'repair'>;
  removal: Pick<PodRemoval, 'removeOrphan'>;
  scheduler: Pick<ExpiryScheduler, 'expireDue' | 'scheduleRemoval'>;
  logger: Logger;
  now: () => number;
  intervalMs: number;
  /** Until the runtime first answers, and after it stops answering, passes come this often (5 s). */
  retryMs?: number;
  /**
   * Checked before every pass; one that fails fails the pass, and the host is not ready while any does
   * not hold (e.g. the pod firewall must be in place before pods are recreated).
   */
  guards?: readonly ReconcileGuard[];
  /** Run after every pass; failures are logged (e.g. removing unused images). */
  chores?: ReadonlyArray<() => Promise<unknown>>;
}

/**
 * Keeps the runtime and the store in agreement, both ways: paid pods the runtime lost are recreated,
 * runtime pods of this host nobody pays for are deleted, terminating pods are removed. Runs at start and
 * every interval (more often until the runtime first answers); `ready()` says whether it has succeeded.
 */
export interface Reconciler {
  /** One pass now; concurrent callers share it. */
  reconcile(): Promise<ReconcileReport>;
  /** Starts the periodic passes. */
  schedule(): void;
  /**
   * The runtime stopped answering: passes come at the quick cadence again until one succeeds, so what
   * the outage left (a pod a start half made, a paid pod lost) is mended soon after it answers again.
   */
  runtimeLost(): void;
  ready(): boolean;
  /** Stops the passes and waits for one in progress. */
  stop(): Promise<void>;
}

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { runtime, records, lifecycle, removal, scheduler, logger, now } = options;
  let prepared = false;
  let reconciled = false;
  let guarded = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ReconcileReport> | undefined;

  async function once(): Promise<ReconcileReport> {
    const report: ReconcileReport = { recreated: [], failed: [], removedOrphans: [] };
    // Runtime first, then store: a pod created in between has its record written before it exists.
    const runtimePods = await runtime.listPods();
    const recordList = await records.list();
    const at = now();
    const recorded = new Set(recordList.map((r) => r.hash));
    const runningInRuntime = new Set(runtimePods.filter((p) => p.running).map((p) => p.hash));
    for (const record of recordList) {
      if (record.state === 'terminating') {
        scheduler.scheduleRemoval(record.hash);
      } else if (
        record.expiresAt > at &&
        (record.state !== 'running' || !runningInRuntime.has(record.hash))
      ) {
        const outcome = await lifecycle.repair(record.hash);
        if (outcome === 'recreated') report.recreated.push(record.hash);
        if (outcome === 'failed') report.failed.push(record.hash);
      }
    }
    for (const pod of runtimePods) {
      if (recorded.has(pod.hash)) continue;
      try {
        if (await removal.removeOrphan(pod.hash)) report.removedOrphans.push(pod.hash);
      } catch (error) {
        logger.warn({ hash: pod.hash, err: error }, 'could not remove an orphan pod; will retry');
      }
    }
    await scheduler.expireDue();
    return report;
  }

  function reconcile(): Promise<ReconcileReport> {
    running ??= (async () => {
      try {
        try {
          for (const guard of options.guards ?? []) await guard.check();
          guarded = true;
        } catch (error) {
          guarded = false;
          throw error;
        }
        if (!prepared) {
          await runtime.prepare();
          prepared = true;
          logger.info({ runtime: runtime.name }, 'container runtime ready');
        }
        let report: ReconcileReport;
        try {
          report = await once();
        } catch (error) {
          // The runtime stopped answering: not ready (uploads refused before payment) until a pass works.
          reconciled = false;
          throw error;
        }
        reconciled = true;
        for (const chore of options.chores ?? []) {
          await chore().catch((error: unknown) => logger.error({ err: error }, 'a reconcile chore failed'));
        }
        if (report.recreated.length + report.failed.length + report.removedOrphans.length > 0) {
          logger.info(report, 'reconciled pods with the runtime');
        }
        return report;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    clearTimeout(timer);
    const retryMs = options.retryMs ?? UNREADY_RETRY_MS;
    const delay = reconciled ? options.intervalMs : Math.min(retryMs, options.intervalMs);
    timer = setTimeout(() => {
      timer = undefined;
      reconcile()
        .catch((error: unknown) => logger.error({ err: error, runtime: runtime.name }, 'reconcile failed'))
        .finally(schedule);
    }, delay);
  }

  return {
    reconcile,
    schedule,
    runtimeLost() {
      if (!reconciled) return;
      reconciled = false;
      // Re-armed at the quick cadence, unless a pass is under way (it schedules the next itself).
      if (timer) schedule();
    },
    ready: () => prepared && reconciled && guarded && (options.guards ?? []).every((guard) => guard.holds()),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
