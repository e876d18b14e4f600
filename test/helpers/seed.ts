import type { Manifest, PodRecord } from '../../src/domain/types.js';
import { buildPodPlan } from '../../src/manifest/plan.js';
import { openStore } from '../../src/store/store.js';

/**
 * Writes a paid pod into the store under `root` as an earlier codiusd would have left it, so the next
 * codiusd started on that root recovers it (its reconcile runs the pod). Returns the record written.
 */
export async function seedPaidPod(
  root: string,
  manifest: Manifest,
  options: { lifetimeMs?: number; publicUri?: string } = {},
): Promise<PodRecord> {
  const plan = buildPodPlan({ manifest }, { publicUri: options.publicUri ?? 'https://codius.example.com' });
  const at = Date.now();
  const lifetimeMs = options.lifetimeMs ?? 600_000;
  const record: PodRecord = {
    hash: plan.hash,
    state: 'running',
    startedAt: at,
    expiresAt: at + lifetimeMs,
    memoryMiB: plan.resources.memoryMiB,
    totalUptimeSeconds: Math.ceil(lifetimeMs / 1000),
    port: plan.port,
    ip: null,
  };
  const store = await openStore({ root, inMemory: false });
  try {
    await store.manifests.put(plan.hash, manifest);
    await store.pods.save(record);
  } finally {
    await store.close();
  }
  return record;
}
