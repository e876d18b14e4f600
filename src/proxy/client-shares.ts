/**
 * Per-client shares of a pod's connections: one client (one address, or one IPv6 /64) may hold at most
 * `limit` of them at a time, so that it cannot take all of a pod's room and make it answer 503 to
 * everyone else.
 */
export interface ClientShares {
  /** Takes one share of `key` (pod and client); false when the client already holds its limit. */
  take(key: string): boolean;
  give(key: string): void;
}

export function createClientShares(limit: number): ClientShares {
  const held = new Map<string, number>();
  return {
    take(key) {
      const count = held.get(key) ?? 0;
      if (count >= limit) return false;
      held.set(key, count + 1);
      return true;
    },
    give(key) {
      const count = (held.get(key) ?? 1) - 1;
      if (count > 0) held.set(key, count);
      else held.delete(key);
    },
  };
}
