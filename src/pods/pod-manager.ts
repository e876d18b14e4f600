import type { Manifest, ManifestHash, Payment, PodPlan, PodRecord, PodRequest } from '../domain/types.js';
import type { Logger } from '../logger.js';
import { buildPodPlan } from '../manifest/plan.js';
import { isWorthBooking, paidLine, unservedLine } from '../payments/ledger-lines.js';
import type { Repositories } from '../store/store.js';
import type { ContainerLogSource, LogOptions, PodRuntime } from '../runtime/driver.js';
import type { Store } from '../store/store.js';
import { createKeyedMutex } from './keyed-mutex.js';
import type { PodDirectory } from './pod-directory.js';
import type { PrivateVarsCipher } from './private-vars.js';

/** The expiry timer never sleeps longer than this, so a wall-clock jump is noticed within a minute. */
const MAX_TIMER_MS = 60_000;
/** Deletion retries back off up to this. */
const MAX_CLEANUP_DELAY_MS = 60_000;
/** Until the runtime first answers, it is retried at least this often. */
const UNREADY_RETRY_MS = 5_000;

export interface PodManagerOptions {
  store: Store;
  /** Mirrors the store's pod records in memory for the proxy; this manager keeps it in sync. */
  directory: PodDirectory;
  runtime: PodRuntime;
  cipher: PrivateVarsCipher;
  logger: Logger;
  /** CODIUS_PUBLIC_URI, injected into pods as CODIUS_HOST. */
  publicUri: string;
  reconcileIntervalMs: number;
  now?: () => number;
}

/** A pod could not be started; the store keeps nothing for it. */
export class PodStartError extends Error {
  constructor(
    readonly hash: ManifestHash,
    options: ErrorOptions,
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`pod ${hash} could not be started: ${reason}`, options);
    this.name = 'PodStartError';
  }
}

export interface ReconcileReport {
  /** Paid pods that were missing or dead in the runtime and run again. */
  recreated: ManifestHash[];
  /** Paid pods that could not be run again (retried at the next pass). */
  failed: ManifestHash[];
  /** Runtime pods with this host's label that nobody pays for, deleted. */
  removedOrphans: ManifestHash[];
}

export interface PodManager {
  /** Prepares the runtime, reconciles it with the store and arms the timers. Never throws for runtime trouble. */
  start(): Promise<void>;
  /** Stops timers and waits for work in progress. Pods keep running. */
  stop(): Promise<void>;
  /** True once the runtime has answered and been reconciled. */
  ready(): boolean;
  /**
   * Runs the manifest's pod for `durationSeconds` more: a live pod's time is extended (and the pod recreated
   * if the runtime lost it), otherwise a new pod starts. Concurrent calls for one manifest run one after the
   * other and all count. Throws PodStartError when a new pod cannot start.
   *
   * `payment` is booked in the ledger in the same transaction as the expiry it buys; if nothing can be
   * bought (the pod does not start) it is booked as the manifest's credit instead.
   */
  run(request: PodRequest, durationSeconds: number, payment?: Payment): Promise<PodRecord>;
  /**
   * Adds time to a live pod (recreating it if the runtime lost it); null when there is no live pod, in which
   * case `payment` becomes the manifest's credit.
   */
  extend(hash: ManifestHash, durationSeconds: number, payment?: Payment): Promise<PodRecord | null>;
  /** The pod's record while it is paid for (not expired, not being removed). */
  get(hash: ManifestHash): Promise<PodRecord | undefined>;
  /** The stored public manifest of a live pod. */
  manifest(hash: ManifestHash): Promise<Manifest | undefined>;
  openLogs(hash: ManifestHash, options: LogOptions): Promise<ContainerLogSource[] | null>;
  /** Marks every pod whose time is up as terminating and starts removing it. */
  expireDue(): Promise<void>;
  /** Compares the runtime with the store and repairs both directions. */
  reconcile(): Promise<ReconcileReport>;
}

export function createPodManager(options: PodManagerOptions): PodManager {
  const { store, directory, runtime, cipher, logger } = options;
  const now = options.now ?? Date.now;
  const mutex = createKeyedMutex();
  const cleanupTimers = new Map<ManifestHash, NodeJS.Timeout>();
  let expiryTimer: NodeJS.Timeout | undefined;
  let expiryGeneration = 0;
  let tickTimer: NodeJS.Timeout | undefined;
  let prepared = false;
  let reconciled = false;
  let stopped = false;
  let reconciling: Promise<ReconcileReport> | undefined;

  const isLive = (record: PodRecord | undefined, at = now()): record is PodRecord =>
    record !== undefined && record.state !== 'terminating' && record.expiresAt > at;

  /** Saves one record outside a transaction and mirrors it in the directory once committed. */
  async function saveRecord(record: PodRecord): Promise<void> {
    await store.pods.save(record);
    directory.put(record);
  }

  /** Forgets a pod and its manifest in one transaction (plus `more` in it), then in the directory. */
  async function forgetPod(hash: ManifestHash, more?: (repos: Repositories) => Promise<void>): Promise<void> {
    await store.transaction(async (repos) => {
      await repos.pods.delete(hash);
      await repos.manifests.delete(hash);
      await more?.(repos);
    });
    directory.remove(hash);
  }

  function planFor(request: PodRequest): PodPlan {
    return buildPodPlan(request, { publicUri: options.publicUri });
  }

  /** Rebuilds the plan of a stored pod from its public manifest and sealed private vars. */
  async function storedPlan(hash: ManifestHash): Promise<PodPlan> {
    const manifest = (await store.manifests.get(hash)) as Manifest | undefined;
    if (!manifest) throw new Error(`no stored manifest for pod ${hash}`);
    const sealed = await store.manifests.getSealedPrivateVars(hash);
    const request: PodRequest = sealed
      ? { manifest, private: { vars: cipher.open(hash, sealed) } }
      : { manifest };
    const plan = planFor(request);
    if (plan.hash !== hash) throw new Error(`stored manifest of ${hash} hashes to ${plan.hash}`);
    return plan;
  }

  function sealedVarsOf(hash: ManifestHash, request: PodRequest): string | null {
    const vars = request.private?.vars;
    return vars && Object.keys(vars).length > 0 ? cipher.seal(hash, vars) : null;
  }

  /** Books a payment inside a transaction that changes the expiry it paid for. */
  async function bookPaid(
    repos: Repositories,
    hash: ManifestHash,
    payment: Payment | undefined,
    purpose: 'upload' | 'extend',
  ): Promise<void> {
    if (payment && isWorthBooking(payment)) await repos.ledger.append(paidLine(hash, payment, purpose));
  }

  /**
   * Turns a payment that bought nothing into credit. Never throws: if even that write fails, the amounts
   * are logged for the operator to settle by hand.
   */
  async function bookUnserved(
    hash: ManifestHash,
    payment: Payment | undefined,
    paidLineCommitted: boolean,
    repos: Repositories = store,
  ): Promise<void> {
    if (!payment || !isWorthBooking(payment)) return;
    try {
      await repos.ledger.append(unservedLine(hash, payment, paidLineCommitted));
    } catch (error) {
      logger.error(
        {
          hash,
          err: error,
          received: payment.received.toString(),
          creditUsed: payment.creditUsed.toString(),
          asset: payment.asset,
        },
        'could not book an unserved payment as credit; settle it by hand',
      );
    }
  }

  // ---- expiry ----------------------------------------------------------------------------------

  /** (Re)arms the single expiry timer on the earliest expiry in the store (an indexed query). */
  function armExpiryTimer(): void {
    if (stopped) return;
    const generation = (expiryGeneration += 1);
    store.pods.nextToExpire().then(
      (next) => {
        if (stopped || generation !== expiryGeneration) return;
        clearTimeout(expiryTimer);
        expiryTimer = undefined;
        if (!next) return;
        const delay = Math.min(Math.max(0, next.expiresAt - now()), MAX_TIMER_MS);
        expiryTimer = setTimeout(() => {
          expiryTimer = undefined;
          expireDue()
            .catch((error: unknown) => logger.error({ err: error }, 'expiring pods failed'))
            .finally(armExpiryTimer);
        }, delay);
      },
      (error: unknown) => logger.error({ err: error }, 'could not read the next pod expiry'),
    );
  }

  async function expireDue(): Promise<void> {
    for (const due of await store.pods.listDue(now())) {
      const marked = await mutex.run(due.hash, async () => {
        const record = await store.pods.get(due.hash);
        if (!record || record.state === 'terminating' || record.expiresAt > now()) return false;
        await saveRecord({ ...record, state: 'terminating' });
        return true;
      });
      if (marked) {
        logger.info({ hash: due.hash }, 'pod expired; removing it');
        scheduleCleanup(due.hash, 0);
      }
    }
  }

  // ---- removal ---------------------------------------------------------------------------------

  /** Deletes a terminating pod from the runtime, then forgets it; the record stays until the runtime confirms. */
  async function removeOnce(hash: ManifestHash): Promise<void> {
    await mutex.run(hash, async () => {
      const record = await store.pods.get(hash);
      if (record?.state !== 'terminating') return;
      await runtime.deletePod(hash);
      await forgetPod(hash);
      logger.info({ hash }, 'pod removed');
    });
  }

  function scheduleCleanup(hash: ManifestHash, attempt: number): void {
    if (stopped || (attempt === 0 && cleanupTimers.has(hash))) return;
    const delay = attempt === 0 ? 0 : Math.min(1000 * 2 ** (attempt - 1), MAX_CLEANUP_DELAY_MS);
    clearTimeout(cleanupTimers.get(hash));
    cleanupTimers.set(
      hash,
      setTimeout(() => {
        cleanupTimers.delete(hash);
        removeOnce(hash).catch((error: unknown) => {
          logger.warn({ hash, err: error, attempt }, 'pod removal failed; retrying');
          scheduleCleanup(hash, attempt + 1);
        });
      }, delay),
    );
  }

  // ---- running ---------------------------------------------------------------------------------

  /** Runs the plan in the runtime and records the result; leaves the record "starting" on failure. */
  async function runRecorded(record: PodRecord, plan: PodPlan): Promise<PodRecord> {
    const pod = await runtime.runPod(plan);
    const running: PodRecord = { ...record, state: 'running', ip: pod.ip };
    await saveRecord(running);
    return running;
  }

  /**
   * For a live record: makes sure its runtime pod runs, recreating it if not (call under the mutex).
   * `recreated` tells whether the runtime pod had to be run again.
   */
  async function keepAlive(
    record: PodRecord,
    plan: () => Promise<PodPlan>,
  ): Promise<{ record: PodRecord; recreated: boolean }> {
    const pod = await runtime.inspectPod(record.hash);
    if (pod?.running) {
      if (record.state === 'running' && record.ip === pod.ip) return { record, recreated: false };
      const updated: PodRecord = { ...record, state: 'running', ip: pod.ip };
      await saveRecord(updated);
      return { record: updated, recreated: false };
    }
    const starting: PodRecord = { ...record, state: 'starting', ip: null };
    await saveRecord(starting);
    logger.warn(
      { hash: record.hash, found: pod ? 'stopped' : 'missing' },
      'paid pod is not running; recreating it',
    );
    return { record: await runRecorded(starting, await plan()), recreated: true };
  }

  /** Adds paid time to a live record; the caller holds the mutex. */
  function withMoreTime(record: PodRecord, durationSeconds: number, at: number): PodRecord {
    return {
      ...record,
      expiresAt: Math.max(record.expiresAt, at) + durationSeconds * 1000,
      totalUptimeSeconds: record.totalUptimeSeconds + durationSeconds,
    };
  }

  /** keepAlive that logs instead of throwing: the paid time is recorded and reconcile retries. */
  async function keepAliveOrLog(record: PodRecord, plan: () => Promise<PodPlan>): Promise<PodRecord> {
    try {
      return (await keepAlive(record, plan)).record;
    } catch (error) {
      logger.error({ hash: record.hash, err: error }, 'could not recreate a paid pod; will retry');
      return (await store.pods.get(record.hash)) ?? record;
    }
  }

  async function run(request: PodRequest, durationSeconds: number, payment?: Payment): Promise<PodRecord> {
    const plan = planFor(request);
    const { hash } = plan;
    const sealed = sealedVarsOf(hash, request);
    /** Whether the payment's line is committed; set inside the locked work. */
    const progress = { booked: false };
    /** Saves the record with its manifest and the payment's ledger line, in one transaction. */
    const recordUpload = async (record: PodRecord): Promise<void> => {
      await store.transaction(async (repos) => {
        await repos.pods.save(record);
        await repos.manifests.put(hash, plan.manifest, sealed);
        await bookPaid(repos, hash, payment, 'upload');
      });
      directory.put(record);
      progress.booked = true;
      armExpiryTimer();
    };
    const result = mutex.run(hash, async () => {
      const at = now();
      const existing = await store.pods.get(hash);
      if (existing && existing.state !== 'terminating') {
        // Same manifest, still (or just) paid: add the time; an expired-but-not-yet-removed pod is renewed.
        const renewed = withMoreTime(existing, durationSeconds, at);
        await recordUpload(renewed);
        return keepAliveOrLog(renewed, () => Promise.resolve(plan));
      }
      if (existing) {
        // Its old run is being removed: finish that first, or the new pod would collide with it.
        try {
          await runtime.deletePod(hash);
        } catch (error) {
          throw new PodStartError(hash, { cause: error });
        }
        clearTimeout(cleanupTimers.get(hash));
        cleanupTimers.delete(hash);
      }
      const starting: PodRecord = {
        hash,
        state: 'starting',
        startedAt: at,
        expiresAt: at + durationSeconds * 1000,
        memoryMiB: plan.resources.memoryMiB,
        totalUptimeSeconds: (existing?.totalUptimeSeconds ?? 0) + durationSeconds,
        port: plan.port,
        ip: null,
      };
      // Recorded before the runtime is asked, so a crash in between leaves a paid pod reconcile recreates.
      await recordUpload(starting);
      try {
        const running = await runRecorded(starting, plan);
        logger.info(
          { hash, ip: running.ip, expiresAt: new Date(running.expiresAt).toISOString() },
          'pod started',
        );
        return running;
      } catch (error) {
        // Nothing runs, so nothing is owed: forget it (the driver already removed what it created) and
        // keep what was paid as credit, in the same transaction.
        await forgetPod(hash, (repos) => bookUnserved(hash, payment, true, repos));
        armExpiryTimer();
        throw new PodStartError(hash, { cause: error });
      }
    });
    return result.catch(async (error: unknown) => {
      // Failed before the payment was booked (e.g. the old run could not be removed): book it as credit.
      if (!progress.booked) await bookUnserved(hash, payment, false);
      throw error;
    });
  }

  async function extend(
    hash: ManifestHash,
    durationSeconds: number,
    payment?: Payment,
  ): Promise<PodRecord | null> {
    /** Whether the payment's line is committed; set inside the locked work. */
    const progress = { booked: false };
    const result = mutex.run(hash, async () => {
      const at = now();
      const existing = await store.pods.get(hash);
      if (!isLive(existing, at)) return null;
      const renewed = withMoreTime(existing, durationSeconds, at);
      await store.transaction(async (repos) => {
        await repos.pods.save(renewed);
        await bookPaid(repos, hash, payment, 'extend');
      });
      directory.put(renewed);
      progress.booked = true;
      armExpiryTimer();
      return keepAliveOrLog(renewed, () => storedPlan(hash));
    });
    try {
      const record = await result;
      // The pod had expired (or never existed) by the time the money arrived: keep it as credit.
      if (!record) await bookUnserved(hash, payment, false);
      return record;
    } catch (error) {
      if (!progress.booked) await bookUnserved(hash, payment, false);
      throw error;
    }
  }

  // ---- reconcile -------------------------------------------------------------------------------

  type Outcome = 'alive' | 'recreated' | 'failed' | 'skipped';

  async function repair(hash: ManifestHash): Promise<Outcome> {
    return mutex.run(hash, async () => {
      const record = await store.pods.get(hash);
      if (!isLive(record)) return 'skipped';
      try {
        return (await keepAlive(record, () => storedPlan(hash))).recreated ? 'recreated' : 'alive';
      } catch (error) {
        logger.error({ hash, err: error }, 'could not recreate a paid pod; will retry');
        return 'failed';
      }
    });
  }

  async function removeOrphan(hash: ManifestHash): Promise<boolean> {
    return mutex.run(hash, async () => {
      // Checked again under the lock: a start may have recorded the pod since the list was read.
      if (await store.pods.get(hash)) return false;
      await runtime.deletePod(hash);
      logger.warn({ hash }, 'removed a pod of this host that nobody pays for');
      return true;
    });
  }

  async function reconcileOnce(): Promise<ReconcileReport> {
    const report: ReconcileReport = { recreated: [], failed: [], removedOrphans: [] };
    // Runtime first, then store: a pod created in between has its record written before it exists.
    const runtimePods = await runtime.listPods();
    const records = await store.pods.list();
    const at = now();
    const recorded = new Set(records.map((r) => r.hash));
    const runningInRuntime = new Set(runtimePods.filter((p) => p.running).map((p) => p.hash));
    for (const record of records) {
      if (record.state === 'terminating') {
        scheduleCleanup(record.hash, 0);
      } else if (
        record.expiresAt > at &&
        (record.state !== 'running' || !runningInRuntime.has(record.hash))
      ) {
        const outcome = await repair(record.hash);
        if (outcome === 'recreated') report.recreated.push(record.hash);
        if (outcome === 'failed') report.failed.push(record.hash);
      }
    }
    for (const pod of runtimePods) {
      if (recorded.has(pod.hash)) continue;
      try {
        if (await removeOrphan(pod.hash)) report.removedOrphans.push(pod.hash);
      } catch (error) {
        logger.warn({ hash: pod.hash, err: error }, 'could not remove an orphan pod; will retry');
      }
    }
    await expireDue();
    return report;
  }

  function reconcile(): Promise<ReconcileReport> {
    reconciling ??= (async () => {
      try {
        if (!prepared) {
          await runtime.prepare();
          prepared = true;
          logger.info({ runtime: runtime.name }, 'container runtime ready');
        }
        const report = await reconcileOnce();
        reconciled = true;
        if (report.recreated.length + report.failed.length + report.removedOrphans.length > 0) {
          logger.info(report, 'reconciled pods with the runtime');
        }
        return report;
      } finally {
        reconciling = undefined;
      }
    })();
    return reconciling;
  }

  function scheduleTick(): void {
    if (stopped) return;
    const delay = reconciled
      ? options.reconcileIntervalMs
      : Math.min(UNREADY_RETRY_MS, options.reconcileIntervalMs);
    tickTimer = setTimeout(() => {
      reconcile()
        .catch((error: unknown) => logger.error({ err: error, runtime: runtime.name }, 'reconcile failed'))
        .finally(scheduleTick);
    }, delay);
  }

  return {
    async start() {
      directory.replaceAll(await store.pods.list());
      try {
        await reconcile();
      } catch (error) {
        logger.error(
          { err: error, runtime: runtime.name },
          'container runtime not ready; retrying in the background',
        );
      }
      armExpiryTimer();
      scheduleTick();
    },
    async stop() {
      stopped = true;
      clearTimeout(tickTimer);
      clearTimeout(expiryTimer);
      for (const timer of cleanupTimers.values()) clearTimeout(timer);
      cleanupTimers.clear();
      await reconciling?.catch(() => undefined);
      await mutex.idle();
    },
    ready: () => prepared && reconciled,
    run,
    extend,
    async get(hash) {
      const record = await store.pods.get(hash);
      return isLive(record) ? record : undefined;
    },
    async manifest(hash) {
      if (!isLive(await store.pods.get(hash))) return undefined;
      return (await store.manifests.get(hash)) as Manifest | undefined;
    },
    openLogs: (hash, logOptions) => runtime.openLogs(hash, logOptions),
    expireDue,
    reconcile,
  };
}
