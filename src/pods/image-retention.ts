import type { Manifest } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PodRuntime } from '../runtime/driver.js';
import type { ImageRepository } from '../store/repositories/images.js';
import type { ManifestRepository } from '../store/repositories/manifests.js';
import type { PodStartedEvent } from './pod-hooks.js';
import type { PodRecords } from './pod-records.js';

/**
 * Images codiusd pulled are removed once no pod uses them and none has started with them for the
 * retention time, so paid-for pulls cannot fill the disk. Images it did not pull are never touched.
 */
export interface ImageRetention {
  /** Records what a pod start pulled and used. */
  podStarted(event: PodStartedEvent): Promise<void>;
  /** Removes what is due; returns the references removed. */
  sweep(): Promise<string[]>;
}

export interface ImageRetentionOptions {
  images: ImageRepository;
  records: Pick<PodRecords, 'list'>;
  manifests: Pick<ManifestRepository, 'get'>;
  runtime: Pick<PodRuntime, 'removeImage'>;
  retentionMs: number;
  now: () => number;
  logger: Logger;
}

export function createImageRetention(options: ImageRetentionOptions): ImageRetention {
  const { images, records, manifests, runtime, logger, now } = options;

  /** Images of every pod the store still has (a terminating pod may still be using its images). */
  async function inUse(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const record of await records.list()) {
      const manifest = (await manifests.get(record.hash)) as Manifest | undefined;
      for (const container of manifest?.containers ?? []) used.add(container.image);
    }
    return used;
  }

  return {
    async podStarted(event) {
      await images.recordPulled(event.pulledImages);
      await images.touch(event.plan.containers.map((c) => c.image));
    },
    async sweep() {
      const due = await images.unusedSince(now() - options.retentionMs);
      if (due.length === 0) return [];
      const used = await inUse();
      const removed: string[] = [];
      for (const reference of due) {
        if (used.has(reference)) {
          await images.touch([reference]);
          continue;
        }
        const outcome = await runtime.removeImage(reference);
        if (outcome === 'in-use') continue;
        await images.forget(reference);
        if (outcome === 'removed') removed.push(reference);
      }
      if (removed.length > 0) logger.info({ images: removed }, 'removed images no pod has used lately');
      return removed;
    },
  };
}
