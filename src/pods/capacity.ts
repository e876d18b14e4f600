import type { ManifestHash, PodUsage } from '../domain/types.js';

const MiB = 2 ** 20;

export interface HostCapacity {
  totalMemoryBytes: number;
  /** totalMemory × CODIUS_MAX_MEMORY_FRACTION. */
  podMemoryBudgetBytes: number;
  /** Memory of every pod in the store, terminating ones included until the runtime confirms deletion. */
  reservedMemoryBytes: number;
  freeMemoryBytes: number;
  full: boolean;
}

export interface CapacitySources {
  usage(): Promise<PodUsage>;
  /** Whether the store already has a live pod for this manifest (an extension needs no new memory). */
  hasLivePod(hash: ManifestHash): Promise<boolean>;
}

export interface Capacity {
  snapshot(): Promise<HostCapacity>;
  /** Whether a pod of `memoryMiB` for this manifest fits; extensions of live pods always do (they need no new memory). */
  admits(hash: ManifestHash, memoryMiB: number): Promise<boolean>;
  /**
   * Sets memory aside for an upload whose money is arriving, until its pod started (or not): under `key`
   * (the request's), for `ttlMs` at most. True when it fits (or `key` holds it already). Holds are taken
   * one at a time and count against every other upload, so concurrent payers cannot overcommit the host.
   */
  hold(key: string, hash: ManifestHash, memoryMiB: number, ttlMs: number): Promise<boolean>;
  release(key: string): void;
  /** A number that changes whenever a hold is taken, renewed, released or found expired. */
  revision(): number;
}

/** Memory accounting against CODIUS_MAX_MEMORY_FRACTION of the machine (in bytes throughout). */
export function createCapacity(
  options: { totalMemoryBytes: number; maxMemoryFraction: number; now?: () => number },
  sources: CapacitySources,
): Capacity {
  const podMemoryBudgetBytes = Math.floor(options.totalMemoryBytes * options.maxMemoryFraction);
  const now = options.now ?? Date.now;
  const holds = new Map<string, { hash: ManifestHash; memoryMiB: number; until: number }>();
  /** The hold being decided: each one sees every hold decided before it. */
  let deciding: Promise<unknown> = Promise.resolve();
  let revision = 0;

  /** Memory of the store's pods and of holds for manifests the store has no pod of yet (one per manifest). */
  async function reservedBytes(exceptHash?: ManifestHash): Promise<number> {
    const at = now();
    const held = new Map<ManifestHash, number>();
    for (const [key, hold] of holds) {
      if (hold.until <= at) {
        holds.delete(key);
        revision += 1;
      } else if (hold.hash !== exceptHash)
        held.set(hold.hash, Math.max(held.get(hold.hash) ?? 0, hold.memoryMiB));
    }
    let heldMiB = 0;
    for (const [hash, memoryMiB] of held) if (!(await sources.hasLivePod(hash))) heldMiB += memoryMiB;
    return ((await sources.usage()).reservedMemoryMiB + heldMiB) * MiB;
  }

  return {
    async snapshot() {
      const reservedMemoryBytes = await reservedBytes();
      return {
        totalMemoryBytes: options.totalMemoryBytes,
        podMemoryBudgetBytes,
        reservedMemoryBytes,
        freeMemoryBytes: Math.max(0, podMemoryBudgetBytes - reservedMemoryBytes),
        full: reservedMemoryBytes >= podMemoryBudgetBytes,
      };
    },
    async admits(hash, memoryMiB) {
      if (await sources.hasLivePod(hash)) return true;
      // Holds for the same manifest share its one pod: they do not count against it.
      return (await reservedBytes(hash)) + memoryMiB * MiB <= podMemoryBudgetBytes;
    },
    hold(key, hash, memoryMiB, ttlMs) {
      const decided = deciding.then(async () => {
        const known = holds.get(key);
        if (known && known.until > now()) {
          known.until = now() + ttlMs;
          revision += 1;
          return true;
        }
        if (await sources.hasLivePod(hash)) return true;
        if ((await reservedBytes(hash)) + memoryMiB * MiB > podMemoryBudgetBytes) return false;
        holds.set(key, { hash, memoryMiB, until: now() + ttlMs });
        revision += 1;
        return true;
      });
      deciding = decided.catch(() => undefined);
      return decided;
    },
    release(key) {
      if (holds.delete(key)) revision += 1;
    },
    revision: () => revision,
  };
}
