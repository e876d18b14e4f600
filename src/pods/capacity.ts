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
  /** Whether a pod of `memoryMiB` for this manifest fits; extensions of live pods always do (fixes B7). */
  admits(hash: ManifestHash, memoryMiB: number): Promise<boolean>;
}

/** Memory accounting against CODIUS_MAX_MEMORY_FRACTION of the machine (spec §4.4, in bytes throughout). */
export function createCapacity(
  options: { totalMemoryBytes: number; maxMemoryFraction: number },
  sources: CapacitySources,
): Capacity {
  const podMemoryBudgetBytes = Math.floor(options.totalMemoryBytes * options.maxMemoryFraction);
  return {
    async snapshot() {
      const reservedMemoryBytes = (await sources.usage()).reservedMemoryMiB * MiB;
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
      const reservedMemoryBytes = (await sources.usage()).reservedMemoryMiB * MiB;
      return reservedMemoryBytes + memoryMiB * MiB <= podMemoryBudgetBytes;
    },
  };
}
