import { randomBytes } from 'node:crypto';
import type { Manifest, PodRecord } from '../../src/domain/types.js';
import { buildPodPlan } from '../../src/manifest/plan.js';
import { openStore } from '../../src/store/store.js';

/** Pods to write: how many, and when each one's paid time ends. */
export interface SeedBatch {
  count: number;
  /** Expiry of the i-th pod of the batch (ms since epoch). */
  expiresAt: (index: number) => number;
}

/** The image every seeded pod runs (pinned by digest) and the port it serves. */
export interface SeedImage {
  image: string;
  port: string;
}

/** An image no runtime is asked for: the no-op runtime runs nothing. */
const NOWHERE: SeedImage = { image: `docker.io/library/nginx@sha256:${'0'.repeat(64)}`, port: '80' };

/** A manifest of its own for every pod (a random name). */
function manifestFor(index: number, image: SeedImage): Manifest {
  return {
    name: `bench-${index}-${randomBytes(6).toString('hex')}`,
    version: '1.0.0',
    port: image.port,
    containers: [{ id: 'app', image: image.image }],
  };
}

/**
 * Writes paid pods into the store under `root` through the store's own code, as a codiusd that ran them
 * would have left them (state running, no address yet), in one transaction per batch. Returns the hashes.
 */
export async function seedPaidPods(
  root: string,
  batches: readonly SeedBatch[],
  image: SeedImage = NOWHERE,
  publicUri = 'https://codius.example.com',
): Promise<string[]> {
  const store = await openStore({ root, inMemory: false });
  const hashes: string[] = [];
  const at = Date.now();
  try {
    for (const batch of batches) {
      await store.transaction(async (repos) => {
        for (let i = 0; i < batch.count; i += 1) {
          const manifest = manifestFor(hashes.length, image);
          const plan = buildPodPlan({ manifest }, { publicUri });
          const expiresAt = batch.expiresAt(i);
          const record: PodRecord = {
            hash: plan.hash,
            state: 'running',
            startedAt: at,
            expiresAt,
            memoryMiB: plan.resources.memoryMiB,
            totalUptimeSeconds: Math.ceil((expiresAt - at) / 1000),
            port: plan.port,
            ip: null,
          };
          await repos.manifests.put(plan.hash, manifest);
          await repos.pods.save(record);
          hashes.push(plan.hash);
        }
      });
    }
  } finally {
    await store.close();
  }
  return hashes;
}
