import type { ManifestHash, Payment } from '../domain/types.js';
import type { Repositories } from '../store/store.js';
import { isWorthBooking, paidLine, unservedLine } from './ledger-lines.js';

/** The repositories a booking writes through: the ledger, and the hook telling it the write committed. */
export type BookingRepositories = Pick<Repositories, 'ledger' | 'afterCommit'>;

/**
 * One request's payment on its way to the ledger. The pod lifecycle books it inside the transaction that
 * records what it bought, or that undoes it; whatever the lifecycle leaves unbooked, billing books as the
 * manifest's credit. So every amount received ends in exactly one place.
 */
export interface PaymentBooking {
  readonly payment: Payment;
  /** The payment bought time: its money and the credit it spent, in the transaction recording that time. */
  paid(repos: BookingRepositories, purpose: 'upload' | 'extend'): Promise<void>;
  /** What it bought was taken back (the pod did not start): all of it becomes credit, in that transaction. */
  unserved(repos: BookingRepositories): Promise<void>;
}

export type BookingState = 'open' | 'paid' | 'unserved';

/** A booking and where it stands (as committed transactions left it). */
export function createBooking(
  hash: ManifestHash,
  payment: Payment,
): { booking: PaymentBooking; state: () => BookingState } {
  let state: BookingState = 'open';
  const booking: PaymentBooking = {
    payment,
    async paid(repos, purpose) {
      if (state !== 'open') throw new Error(`payment of ${hash} is already booked (${state})`);
      if (isWorthBooking(payment)) await repos.ledger.append(paidLine(hash, payment, purpose));
      repos.afterCommit(() => (state = 'paid'));
    },
    async unserved(repos) {
      if (state === 'unserved') return;
      const paidCommitted = state === 'paid';
      if (isWorthBooking(payment)) await repos.ledger.append(unservedLine(hash, payment, paidCommitted));
      repos.afterCommit(() => (state = 'unserved'));
    },
  };
  return { booking, state: () => state };
}
