/** Delays between retries, so every retry loop in codiusd backs off the same way. */

/** The delay before retry number `attempt` (0-based) from a fixed schedule whose last entry repeats. */
export function scheduledDelay(schedule: readonly number[], attempt: number): number {
  if (schedule.length === 0) throw new RangeError('a retry schedule needs at least one delay');
  return schedule[Math.min(Math.max(0, attempt), schedule.length - 1)] as number;
}

/** `baseMs × 2^attempt`, at most `maxMs`: 1 s, 2 s, 4 s … for base 1 s. */
export function exponentialDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt), maxMs);
}

/** What most of codiusd's retry loops wait after a failure: 1 s, 2 s, 5 s, 10 s, then every 30 s. */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [1_000, 2_000, 5_000, 10_000, 30_000];
