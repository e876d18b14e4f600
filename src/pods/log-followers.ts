import { CodiusError } from '../domain/errors.js';
import type { ManifestHash } from '../domain/types.js';

/** Log followers of one pod, and of the whole host, that may be open at once. */
export const MAX_FOLLOWERS_PER_POD = 4;
export const MAX_FOLLOWERS = 64;

/**
 * Counts open log followers so that a debug pod's audience cannot tie up the runtime: each follower holds
 * a runtime connection per container for as long as it reads.
 */
export interface LogFollowers {
  /** Takes a follower slot for the pod; the function gives it back. Throws `too_many_log_followers`. */
  acquire(hash: ManifestHash): () => void;
  open(): number;
}

export function createLogFollowers(perPod = MAX_FOLLOWERS_PER_POD, total = MAX_FOLLOWERS): LogFollowers {
  const byPod = new Map<ManifestHash, number>();
  let open = 0;
  return {
    acquire(hash) {
      const current = byPod.get(hash) ?? 0;
      if (current >= perPod)
        throw new CodiusError('too_many_log_followers', { hash, limit: perPod, scope: 'pod' });
      if (open >= total)
        throw new CodiusError('too_many_log_followers', { hash, limit: total, scope: 'host' });
      byPod.set(hash, current + 1);
      open += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        open -= 1;
        const left = (byPod.get(hash) ?? 1) - 1;
        if (left > 0) byPod.set(hash, left);
        else byPod.delete(hash);
      };
    },
    open: () => open,
  };
}
