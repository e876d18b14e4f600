import type { PodPlan, PodRecord } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PodRuntime } from '../runtime/driver.js';
import type { PodHookEmitter } from './pod-hooks.js';
import type { PodRecords } from './pod-records.js';

/**
 * Runs the plans of recorded pods in the runtime and records what came of it. The caller holds the pod's
 * lock; nothing here decides whether a pod should run, only makes it so.
 */
export interface PodRunner {
  /** Runs the plan and records the pod as running; leaves the record "starting" when the runtime fails. */
  run(record: PodRecord, plan: PodPlan, recreated: boolean): Promise<PodRecord>;
  /** For a live record: its runtime pod runs, recreated when it did not; the address is kept current. */
  keepAlive(
    record: PodRecord,
    plan: () => Promise<PodPlan>,
  ): Promise<{ record: PodRecord; recreated: boolean }>;
  /** keepAlive that logs instead of throwing: the paid time is recorded and reconcile retries. */
  keepAliveOrLog(record: PodRecord, plan: () => Promise<PodPlan>): Promise<PodRecord>;
}

export function createPodRunner(options: {
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
    await hooks.started({ plan, record: running, recreated });
    return running;
  }

  async function keepAlive(
    record: PodRecord,
    plan: () => Promise<PodPlan>,
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
    logger.warn(
      { hash: record.hash, found: pod ? 'stopped' : 'missing' },
      'paid pod is not running; recreating it',
    );
    return { record: await run(starting, await plan(), true), recreated: true };
  }

  return {
    run,
    keepAlive,
    async keepAliveOrLog(record, plan) {
      try {
        return (await keepAlive(record, plan)).record;
      } catch (error) {
        logger.error({ hash: record.hash, err: error }, 'could not recreate a paid pod; will retry');
        return (await records.get(record.hash)) ?? record;
      }
    },
  };
}
