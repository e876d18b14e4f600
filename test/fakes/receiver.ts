import { codiusError, CodiusError } from '../../src/domain/errors.js';
import type { PaymentReceiver, PaymentStream } from '../../src/payments/receiver.js';

/**
 * A PaymentReceiver for the fast tier, keeping the real one's contract: a token is challenged (402 with a
 * Pay header), its payer "connects" (here: `payer.pay(token, available)`), the retried request claims the
 * stream once and the token is spent. What the payer makes available is what arrives.
 */
export interface FakeReceiver extends PaymentReceiver {
  /** The payer of `token` opens its stream, ready to send up to `available` base units. */
  pay(token: Buffer, available: bigint): void;
  /** Streams finished by their request. */
  finished: number;
  /** Set once freezeAll() was called (shutdown). */
  frozen: boolean;
  /** When set, challenge() fails with this (e.g. the ILP link is down). */
  unavailable: CodiusError | null;
}

export function createFakeReceiver(options: { maxPending?: number } = {}): FakeReceiver {
  const maxPending = options.maxPending ?? 10_000;
  const challenged = new Set<string>();
  const ready = new Map<string, bigint>();
  const spent = new Set<string>();

  const receiver: FakeReceiver = {
    finished: 0,
    frozen: false,
    unavailable: null,
    pay(token, available) {
      const tag = token.toString('hex');
      if (!challenged.has(tag)) throw new Error('the payer pays only after a challenge');
      ready.set(tag, available);
    },
    challenge(token) {
      const tag = token.toString('hex');
      if (spent.has(tag)) throw codiusError('pay_token_used');
      if (receiver.unavailable) throw receiver.unavailable;
      if (!challenged.has(tag) && challenged.size >= maxPending) {
        throw new CodiusError('too_many_pending_payments', { limit: maxPending });
      }
      challenged.add(tag);
      return `interledger-stream test.fake.${tag} ${Buffer.alloc(32, 1).toString('base64')}`;
    },
    claim(token): PaymentStream | undefined {
      const tag = token.toString('hex');
      const available = ready.get(tag);
      if (available === undefined) return undefined;
      ready.delete(tag);
      challenged.delete(tag);
      spent.add(tag);
      return {
        async collect(amount, _timeoutMs, _payment, admit) {
          // As the real one: what the money buys is asked for as the payment completes (here, in one packet).
          if (available >= amount && admit && !(await admit())) {
            return { received: 0n, complete: false, refused: true };
          }
          const received = available < amount ? available : amount;
          return { received, complete: received >= amount, refused: false };
        },
        finish() {
          receiver.finished += 1;
        },
      };
    },
    stats: () => ({ pending: challenged.size + ready.size, spent: spent.size, collecting: 0 }),
    freezeAll() {
      receiver.frozen = true;
    },
    close() {
      challenged.clear();
      ready.clear();
    },
  };
  return receiver;
}
