import { CodiusError } from '../domain/errors.js';
import type { ManifestHash } from '../domain/types.js';

export interface StartCooldownOptions {
  now: () => number;
  /** Failures counted within this window… */
  windowMs?: number;
  /** …this many of them start a cool-down… */
  threshold?: number;
  /** …of this long, doubling with each further one, up to `maxMs`. */
  firstMs?: number;
  maxMs?: number;
}

/**
 * Failed starts (and crashes of started pods) per manifest. A failed start is refunded as credit, so
 * without a limit one small payment would buy endless pulls and creates: after `threshold` failures
 * within the window the manifest waits, and every failure after that doubles the wait.
 */
export interface StartCooldown {
  /** Throws CodiusError `start_cooling_down` (429 with Retry-After) while the manifest must wait. */
  check(hash: ManifestHash): void;
  /** Seconds left to wait, 0 when a start may be tried. */
  secondsLeft(hash: ManifestHash): number;
  failed(hash: ManifestHash): void;
  succeeded(hash: ManifestHash): void;
}

interface History {
  failures: number[];
  /** Cool-downs served so far, for the doubling. */
  rounds: number;
  until: number;
}

/** Histories kept at most; the oldest are forgotten first (a forgotten manifest only starts afresh). */
const MAX_TRACKED = 10_000;

export function createStartCooldown(options: StartCooldownOptions): StartCooldown {
  const { now } = options;
  const windowMs = options.windowMs ?? 3_600_000;
  const threshold = options.threshold ?? 3;
  const firstMs = options.firstMs ?? 300_000;
  const maxMs = options.maxMs ?? 86_400_000;
  const histories = new Map<ManifestHash, History>();

  const secondsLeft = (hash: ManifestHash): number =>
    Math.max(0, Math.ceil(((histories.get(hash)?.until ?? 0) - now()) / 1000));

  return {
    secondsLeft,
    check(hash) {
      const seconds = secondsLeft(hash);
      if (seconds > 0) throw new CodiusError('start_cooling_down', { hash, retryAfterSeconds: seconds });
    },
    failed(hash) {
      const at = now();
      const history = histories.get(hash) ?? { failures: [], rounds: 0, until: 0 };
      history.failures = [...history.failures.filter((t) => at - t < windowMs), at];
      if (history.failures.length >= threshold) {
        history.until = at + Math.min(maxMs, firstMs * 2 ** history.rounds);
        history.rounds += 1;
      }
      histories.delete(hash);
      histories.set(hash, history);
      if (histories.size > MAX_TRACKED) histories.delete(histories.keys().next().value ?? hash);
    },
    succeeded(hash) {
      histories.delete(hash);
    },
  };
}
