import { CodiusError } from '../domain/errors.js';
import type { ManifestHash, PodPlan, PodRecord, PodRequest } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PaymentBooking } from '../payments/billing.js';
import type { PodRuntime } from '../runtime/driver.js';
import { ContainerExitedError, ImageUnavailableError } from '../runtime/errors.js';
import type { KeyedMutex } from '../util/keyed-mutex.js';
import { repairLogOf, type RepairLog } from './pass-log.js';
import type { PodHookEmitter } from './pod-hooks.js';
import type { PodPlanner } from './pod-plans.js';
import { isLive, type PodRecords } from './pod-records.js';
import type { StartCooldown } from './start-cooldown.js';

/** What a repair of a paid pod found and did. */
export type RepairOutcome = 'alive' | 'recreated' | 'failed' | 'skipped';

export interface PodLifecycleOptions {
  /** Failed starts and crashes per manifest: repeated ones wait (see StartCooldown). */
  cooldown: StartCooldown;
  records: PodRecords;
  runtime: PodRuntime;
  planner: PodPlanner;
  hooks: PodHookEmitter;
  /** One lock per manifest, shared with pod removal: every change to a pod runs under it. */
  mutex: KeyedMutex;
  logger: Logger;
  now: () => number;
}

/**
 * Running pods for the time they are paid: start, extend, recreate, strictly one after another per
 * manifest. When the schedule of expiries may have changed, `onExpiryChanged` listeners are told (the
 * expiry scheduler re-arms).
 */
export interface PodLifecycle {
  /**
   * Runs the manifest's pod for `durationSeconds` more: a live pod's time is extended (and the pod recreated
   * if the runtime lost it), otherwise a new pod starts. Concurrent calls for one manifest run one after the
   * other and all count. `booking` is booked in the transaction that records the time it buys, and taken
   * back in the one that forgets a pod that did not start. Throws CodiusError `image_unavailable` or
   * `pod_start_failed` when a new pod cannot start; the store then keeps nothing of it.
   */
  run(request: PodRequest, durationSeconds: number, booking?: PaymentBooking): Promise<PodRecord>;
  /** Adds time to a live pod (recreating it if the runtime lost it); null when there is no live pod. */
  extend(hash: ManifestHash, durationSeconds: number, booking?: PaymentBooking): Promise<PodRecord | null>;
  /** For a paid pod: makes sure its runtime pod runs, running it again if not, noting what it did in `log`. Never throws. */
  repair(hash: ManifestHash, log: RepairLog): Promise<RepairOutcome>;
  onExpiryChanged(listener: () => void): void;
}

/**
 * Runs the plans of recorded pods in the runtime and records what came of it. The caller holds the pod's
 * lock; nothing here decides whether a pod should run, only makes it so.
 */
interface PodRunner {
  /** Runs the plan and records the pod as running; leaves the record "starting" when the runtime fails. */
  run(record: PodRecord, plan: PodPlan, recreated: boolean): Promise<PodRecord>;
  /** For a live record: its runtime pod runs, recreated when it did not; the address is kept current. */
  keepAlive(
    record: PodRecord,
    plan: () => Promise<PodPlan>,
    log: Pick<RepairLog, 'lost'>,
  ): Promise<{ record: PodRecord; recreated: boolean }>;
  /** keepAlive that logs instead of throwing: the paid time is recorded and reconcile retries. */
  keepAliveOrLog(record: PodRecord, plan: () => Promise<PodPlan>): Promise<PodRecord>;
}

function createPodRunner(options: {
  records: PodRecords;
  runtime: PodRuntime;
  hooks: PodHookEmitter;
  logger: Logger;
}): PodRunner {
  const { records, runtime, hooks, logger } = options;

  async function run(record: PodRecord, plan: PodPlan, recreated: boolean): Promise<PodRecord> {
    const pod = await runtime.runPod(plan);
    const running: PodRecord = { ...record, state: 'running', ip: pod.ip };
    await records.save(running);
    await hooks.started({ plan, record: running, recreated, pulledImages: pod.pulledImages ?? [] });
    return running;
  }

  async function keepAlive(
    record: PodRecord,
    plan: () => Promise<PodPlan>,
    log: Pick<RepairLog, 'lost'>,
  ): Promise<{ record: PodRecord; recreated: boolean }> {
    const pod = await runtime.inspectPod(record.hash);
    if (pod?.running) {
      if (record.state === 'running' && record.ip === pod.ip) return { record, recreated: false };
      const updated: PodRecord = { ...record, state: 'running', ip: pod.ip };
      await records.save(updated);
      return { record: updated, recreated: false };
    }
    const starting: PodRecord = { ...record, state: 'starting', ip: null };
    await records.save(starting);
    log.lost(record.hash, pod ? 'stopped' : 'missing');
    return { record: await run(starting, await plan(), true), recreated: true };
  }

  return {
    run,
    keepAlive,
    async keepAliveOrLog(record, plan) {
      const log = repairLogOf(logger);
      try {
        return (await keepAlive(record, plan, log)).record;
      } catch (error) {
        log.failed(record.hash, error);
        return (await records.get(record.hash)) ?? record;
      }
    },
  };
}

/** Adds paid time to a record: from its current expiry, or from now for one already past it. */
function withMoreTime(record: PodRecord, durationSeconds: number, at: number): PodRecord {
  return {
    ...record,
    expiresAt: Math.max(record.expiresAt, at) + durationSeconds * 1000,
    totalUptimeSeconds: record.totalUptimeSeconds + durationSeconds,
  };
}

/** Why a new pod did not start, as a client may be told. */
function startFailure(hash: ManifestHash, error: unknown): CodiusError {
  if (error instanceof ImageUnavailableError) {
    return new CodiusError(
      'image_unavailable',
      { hash, image: error.image, reason: error.reason },
      { cause: error },
    );
  }
  if (error instanceof ContainerExitedError) {
    return new CodiusError('pod_start_failed', { hash, reason: error.message }, { cause: error });
  }
  return new CodiusError('pod_start_failed', { hash }, { cause: error });
}

export function createPodLifecycle(options: PodLifecycleOptions): PodLifecycle {
  const { records, runtime, planner, logger, now } = options;
  const runner = createPodRunner(options);
  const { mutex } = options;
  const cooldown = options.cooldown;
  const expiryListeners: Array<() => void> = [];
  const expiryChanged = (): void => {
    for (const listener of expiryListeners) listener();
  };

  /** Starts a new run of a manifest whose earlier run, if any, is being removed (under the mutex). */
  async function startNew(
    plan: PodPlan,
    durationSeconds: number,
    existing: PodRecord | undefined,
    record: (record: PodRecord) => Promise<void>,
    booking: PaymentBooking | undefined,
  ): Promise<PodRecord> {
    const { hash } = plan;
    if (existing) {
      // Its old run is being removed: finish that first, or the new pod would collide with it.
      try {
        await runtime.deletePod(hash);
      } catch (error) {
        throw startFailure(hash, error);
      }
    }
    const at = now();
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
    cooldown.check(hash);
    // Recorded before the runtime is asked, so a crash in between leaves a paid pod reconcile recreates.
    await record(starting);
    try {
      const running = await runner.run(starting, plan, false);
      cooldown.succeeded(hash);
      logger.info(
        { hash, ip: running.ip, expiresAt: new Date(running.expiresAt).toISOString() },
        'pod started',
      );
      return running;
    } catch (error) {
      logger.warn({ hash, err: error }, 'pod could not start');
      cooldown.failed(hash);
      // Nothing runs, so nothing is owed: forget it and take the payment back as credit, in one
      // transaction. The driver removed what it created; when the runtime died half-way, the next
      // reconcile pass (soon after the runtime answers again) removes what it left.
      await records.transaction(async (repos) => {
        await records.forget(hash, repos);
        await booking?.unserved(repos);
      });
      expiryChanged();
      throw startFailure(hash, error);
    }
  }

  return {
    run(request, durationSeconds, booking) {
      const plan = planner.plan(request);
      const { hash } = plan;
      const sealed = planner.sealedVars(hash, request);
      /** Saves the record with its manifest and the payment's ledger line, in one transaction. */
      const recordUpload = async (record: PodRecord): Promise<void> => {
        await records.transaction(async (repos) => {
          await records.save(record, repos);
          await repos.manifests.put(hash, plan.manifest, sealed);
          await booking?.paid(repos, 'upload');
        });
        expiryChanged();
      };
      return mutex.run(hash, async () => {
        const existing = await records.get(hash);
        if (existing && existing.state !== 'terminating') {
          // Same manifest, still (or just) paid: add the time; an expired-but-not-yet-removed pod is renewed.
          const renewed = withMoreTime(existing, durationSeconds, now());
          await recordUpload(renewed);
          return runner.keepAliveOrLog(renewed, () => Promise.resolve(plan));
        }
        return startNew(plan, durationSeconds, existing, recordUpload, booking);
      });
    },

    extend(hash, durationSeconds, booking) {
      return mutex.run(hash, async () => {
        const at = now();
        const existing = await records.get(hash);
        if (!isLive(existing, at)) return null;
        const renewed = withMoreTime(existing, durationSeconds, at);
        await records.transaction(async (repos) => {
          await records.save(renewed, repos);
          await booking?.paid(repos, 'extend');
        });
        expiryChanged();
        return runner.keepAliveOrLog(renewed, () => planner.stored(hash));
      });
    },

    repair(hash, log) {
      return mutex.run(hash, async () => {
        const record = await records.get(hash);
        if (!isLive(record, now())) return 'skipped';
        // A pod that keeps dying is recreated less and less often, not at every pass.
        if (cooldown.secondsLeft(hash) > 0) return 'skipped';
        try {
          const { recreated } = await runner.keepAlive(record, () => planner.stored(hash), log);
          if (recreated) cooldown.failed(hash);
          return recreated ? 'recreated' : 'alive';
        } catch (error) {
          cooldown.failed(hash);
          log.failed(hash, error);
          return 'failed';
        }
      });
    },

    onExpiryChanged(listener) {
      expiryListeners.push(listener);
    },
  };
}
