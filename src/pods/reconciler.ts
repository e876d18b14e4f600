import type { ManifestHash } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PodRuntime } from '../runtime/driver.js';
import type { ExpiryScheduler } from './expiry-scheduler.js';
import type { PodLifecycle } from './pod-lifecycle.js';
import type { PodRemoval } from './pod-removal.js';
import type { PodRecords } from './pod-records.js';
import { eachLimited } from '../util/each-limited.js';
import { createPassLog, type PassLog } from './pass-log.js';

/** Until the runtime first answers, it is retried at least this often. */
const UNREADY_RETRY_MS = 5_000;
/**
 * Pods repaired (or orphans removed) at once in a pass: a host that lost thousands of pods gets them back
 * in a fraction of the time one by one would take, without a burst that overwhelms the runtime.
 */
export const RECONCILE_CONCURRENCY = 8;

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
  scheduler: Pick<ExpiryScheduler, 'expireDue' | 'scheduleRemoval' | 'idle'>;
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
 * every interval (more often until the runtime first answers). `ready()` says whether the runtime answers
 * (uploads need no more), `firstPassDone()` whether every recorded pod has been seen to since the start.
 */
export interface Reconciler {
  /**
   * Checks the guards and prepares the runtime (which calls it), without going through any pod: afterwards
   * `ready()` says whether new pods may start. Throws when the runtime does not answer.
   */
  prepare(): Promise<void>;
  /** One pass now; concurrent callers share it. */
  reconcile(): Promise<ReconcileReport>;
  /** Starts the periodic passes. */
  schedule(): void;
  /**
   * The runtime stopped answering: passes come at the quick cadence again until one succeeds, so what
   * the outage left (a pod a start half made, a paid pod lost) is mended soon after it answers again.
   */
  runtimeLost(): void;
  /** The runtime answers and every guard holds: pods may be started. */
  ready(): boolean;
  /** A pass has gone through every pod since the start (false until the first one has). */
  firstPassDone(): boolean;
  /** Stops the passes (a pass in progress takes no further pod) and waits for one in progress. */
  stop(): Promise<void>;
}

/**
 * One pass over the runtime's pods and the records: lost paid pods are repaired and orphans removed, a few
 * at a time, while `going` says so. `listed` is called once the runtime has answered its list.
 */
async function passOver(
  options: Pick<ReconcilerOptions, 'runtime' | 'records' | 'lifecycle' | 'removal' | 'scheduler' | 'now'>,
  log: PassLog,
  progress: { listed: () => void; going: () => boolean },
): Promise<ReconcileReport> {
  const { runtime, records, lifecycle, removal, scheduler, now } = options;
  const report: ReconcileReport = { recreated: [], failed: [], removedOrphans: [] };
  // Runtime first, then store: a pod created in between has its record written before it exists.
  const runtimePods = await runtime.listPods();
  progress.listed();
  const recordList = await records.list();
  const at = now();
  const recorded = new Set(recordList.map((r) => r.hash));
  // Pods the runtime lists as running are adopted as they are: no call per pod, served all along.
  const runningInRuntime = new Set(runtimePods.filter((p) => p.running).map((p) => p.hash));
  const lost: ManifestHash[] = [];
  for (const record of recordList) {
    if (record.state === 'terminating') scheduler.scheduleRemoval(record.hash);
    else if (record.expiresAt > at && (record.state !== 'running' || !runningInRuntime.has(record.hash))) {
      lost.push(record.hash);
    }
  }
  await eachLimited(
    lost,
    RECONCILE_CONCURRENCY,
    async (hash) => {
      // Pods whose time is up go first: a long pass never holds back their removal.
      await scheduler.idle();
      const outcome = await lifecycle.repair(hash, log);
      if (outcome === 'recreated') report.recreated.push(hash);
      if (outcome === 'failed') report.failed.push(hash);
    },
    progress.going,
  );
  const orphans = runtimePods.map((pod) => pod.hash).filter((hash) => !recorded.has(hash));
  await eachLimited(
    orphans,
    RECONCILE_CONCURRENCY,
    async (hash) => {
      await scheduler.idle();
      try {
        if (await removal.removeOrphan(hash)) {
          report.removedOrphans.push(hash);
          log.orphanRemoved(hash);
        }
      } catch (error) {
        log.orphanNotRemoved(hash, error);
      }
    },
    progress.going,
  );
  await scheduler.expireDue();
  return report;
}

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { runtime, logger } = options;
  let prepared = false;
  /** The runtime answered the current or last pass's list; false once a pass failed or it was lost. */
  let answering = false;
  let reconciled = false;
  let firstPassDone = false;
  let guarded = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ReconcileReport> | undefined;

  async function once(log: PassLog): Promise<ReconcileReport> {
    return passOver(options, log, {
      listed: () => {
        answering = true;
      },
      going: () => !stopped,
    });
  }

  /** The guards hold and the runtime is prepared (once); throws when either is not so. */
  async function checkAndPrepare(): Promise<void> {
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
  }

  async function prepare(): Promise<void> {
    try {
      // The runtime's own preparation calls it (a ping, a list): its answer is enough for uploads. The
      // list of every pod is left to the first pass, which a host with many pods would wait for twice.
      await checkAndPrepare();
      answering = true;
    } catch (error) {
      answering = false;
      throw error;
    }
  }

  function reconcile(): Promise<ReconcileReport> {
    running ??= (async () => {
      try {
        await checkAndPrepare();
        const log = createPassLog(logger);
        let report: ReconcileReport;
        try {
          report = await once(log);
        } catch (error) {
          // The runtime stopped answering: not ready (uploads refused before payment) until a pass works.
          answering = false;
          reconciled = false;
          throw error;
        }
        // A pass that went through answers for the runtime, even if a call of it failed on the way.
        answering = true;
        reconciled = true;
        if (!stopped) firstPassDone = true;
        for (const chore of options.chores ?? []) {
          await chore().catch((error: unknown) => logger.error({ err: error }, 'a reconcile chore failed'));
        }
        log.finish({
          recreated: report.recreated.length,
          failed: report.failed.length,
          removedOrphans: report.removedOrphans.length,
        });
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
    prepare,
    reconcile,
    schedule,
    runtimeLost() {
      answering = false;
      if (!reconciled) return;
      reconciled = false;
      // Re-armed at the quick cadence, unless a pass is under way (it schedules the next itself).
      if (timer) schedule();
    },
    ready: () => prepared && answering && guarded && (options.guards ?? []).every((guard) => guard.holds()),
    firstPassDone: () => firstPassDone,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
