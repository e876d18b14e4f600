/**
 * A token bucket per key: each key may take `burst` at once and `perSecond` on average. Keys whose bucket
 * is full again are forgotten, so the table holds only keys that were busy lately.
 */
export interface TokenBuckets {
  /** Takes one token of `key`'s bucket; false when it is empty. */
  take(key: string): boolean;
  /** Keys with a bucket now. */
  size(): number;
}

export function createTokenBuckets(options: {
  burst: number;
  perSecond: number;
  now?: () => number;
}): TokenBuckets {
  const { burst, perSecond } = options;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let swept = now();

  function sweep(at: number): void {
    // Full after burst / perSecond seconds of quiet: such buckets are the same as none.
    if (at - swept < 10_000) return;
    swept = at;
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + ((at - bucket.at) / 1000) * perSecond >= burst) buckets.delete(key);
    }
  }

  return {
    take(key) {
      const at = now();
      sweep(at);
      const bucket = buckets.get(key) ?? { tokens: burst, at };
      bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.at) / 1000) * perSecond);
      bucket.at = at;
      buckets.set(key, bucket);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
    size: () => buckets.size,
  };
}
