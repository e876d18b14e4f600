import { randomBytes } from 'node:crypto';
import { CodiusError } from '../domain/errors.js';

/** How long a checkout waits for the tenant's consent. */
export const CHECKOUT_TTL_MS = 15 * 60_000;

export interface CheckoutSessionsOptions {
  now?: () => number;
  /** Checkouts waiting at once, in all. */
  maxOpen?: number;
  /** Checkouts one client may have waiting. */
  maxPerClient?: number;
}

interface Entry<T> {
  value: T | undefined;
  client: string;
  expiresAt: number;
}

/**
 * Checkouts waiting for the tenant to come back from their wallet, in memory only: they hold the pod
 * request with its private values, which are never written anywhere. A restart forgets them; nothing has
 * been paid by then. Each is taken once.
 */
export interface CheckoutSessions<T> {
  /**
   * A place for a new checkout, counted against the bounds at once; its id is unguessable (the capability
   * to finish it). It ends by `endsAt` at the latest.
   */
  reserve(client: string, endsAt?: number): string;
  /** The checkout's state, once known; only then can it be taken. */
  fill(id: string, value: T): void;
  /** The checkout, once: later calls (and unknown or ended ids) get undefined. */
  take(id: string): T | undefined;
  size(): number;
}

export function createCheckoutSessions<T>(options: CheckoutSessionsOptions = {}): CheckoutSessions<T> {
  const now = options.now ?? Date.now;
  const maxOpen = options.maxOpen ?? 1_000;
  const maxPerClient = options.maxPerClient ?? 10;
  const entries = new Map<string, Entry<T>>();

  function sweep(): void {
    const time = now();
    for (const [id, entry] of entries) if (entry.expiresAt <= time) entries.delete(id);
  }

  return {
    reserve(client, endsAt = Infinity) {
      sweep();
      const ofClient = [...entries.values()].filter((entry) => entry.client === client).length;
      if (entries.size >= maxOpen || ofClient >= maxPerClient)
        throw new CodiusError('too_many_checkouts', { retryAfterSeconds: 60 });
      const id = randomBytes(16).toString('base64url');
      entries.set(id, { value: undefined, client, expiresAt: Math.min(now() + CHECKOUT_TTL_MS, endsAt) });
      return id;
    },
    fill(id, value) {
      const entry = entries.get(id);
      if (entry) entry.value = value;
    },
    take(id) {
      sweep();
      const entry = entries.get(id);
      entries.delete(id);
      return entry?.value;
    },
    size() {
      sweep();
      return entries.size;
    },
  };
}
