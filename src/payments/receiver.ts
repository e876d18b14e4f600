import type { Connection, DataAndMoneyStream } from 'ilp-protocol-stream';
import { codiusError, CodiusError } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import type { IlpLink } from '../ilp/link.js';

/** The byte written on a payer's stream to say "ready: retry your request" (what ilp-fetch waits for). */
const READY_SIGNAL = Buffer.from([0xff]);
const SWEEP_INTERVAL_MS = 10_000;
const FINISH_GRACE_MS = 5_000;

/** The money a payer streams for exactly one request. */
export interface PaymentStream {
  /**
   * Raises what the payer may send to `amount` and waits until it arrived or `timeoutMs` passed. Afterwards
   * nothing more can arrive on this stream, so `received` is final.
   */
  collect(amount: bigint, timeoutMs: number): Promise<{ received: bigint; complete: boolean }>;
  /** Ends the stream and its connection; call once the response has gone out. */
  finish(): void;
}

export interface PaymentReceiver {
  /**
   * Registers a pay token whose payer has no stream yet and returns the `Pay` header value: STREAM address
   * and shared secret, with the token (hex) as connection tag. Throws CodiusError `pay_token_used` for a
   * spent token, `too_many_pending_payments` when full, `payments_unavailable` without an ILP link.
   */
  challenge(token: Buffer): string;
  /** The payer's stream for this token, if it is ready; it is handed out once, and the token is spent. */
  claim(token: Buffer): PaymentStream | undefined;
  stats(): { pending: number; spent: number };
  /** Drops every pending payment and stops the sweep timer. */
  close(): void;
}

export interface PaymentReceiverOptions {
  link: Pick<IlpLink, 'credentialsFor' | 'onConnection'>;
  logger: Logger;
  now?: () => number;
  /** Most tokens waiting (challenged, or with a stream not yet claimed) at once. */
  maxPending?: number;
  /** A challenged token not claimed within this is dropped with its connection. */
  pendingTtlMs?: number;
  /** Spent tokens are remembered this long (to answer replays clearly)… */
  spentTokenTtlMs?: number;
  /** …and at most this many; a forgotten replay just gets a new challenge, never free service. */
  maxSpentTokens?: number;
}

interface Pending {
  createdAt: number;
  connection?: Connection;
  stream?: DataAndMoneyStream;
}

function settle(promise: Promise<unknown>): void {
  promise.catch(() => undefined);
}

function paymentStream(connection: Connection, stream: DataAndMoneyStream): PaymentStream {
  let finished = false;
  return {
    async collect(amount, timeoutMs) {
      if (amount > 0n) {
        try {
          await stream.receiveTotal(amount.toString(), { timeout: timeoutMs });
        } catch {
          // Timed out, or the payer closed the stream: whatever arrived is read below.
        }
      }
      // Freeze the amount: from here the payer cannot push more money for this request.
      try {
        stream.setReceiveMax(stream.totalReceived);
      } catch {
        // Already closed: nothing more can arrive anyway.
      }
      const received = BigInt(stream.totalReceived);
      return { received, complete: received >= amount };
    },
    finish() {
      if (finished) return;
      finished = true;
      stream.end();
      const timer = setTimeout(() => settle(connection.destroy()), FINISH_GRACE_MS);
      timer.unref();
      connection.end().then(
        () => clearTimeout(timer),
        () => undefined,
      );
    },
  };
}

/**
 * The HTTP-ILP handshake's server side, fixing the original's replay hole (B1): a token is challenged, its
 * payer opens one STREAM connection tagged with it and gets the ready byte, and the retried request claims
 * that stream exactly once. Claimed tokens are spent; unclaimed ones expire; both sets are bounded.
 */
export function createPaymentReceiver(options: PaymentReceiverOptions): PaymentReceiver {
  const { link, logger } = options;
  const now = options.now ?? Date.now;
  const maxPending = options.maxPending ?? 10_000;
  const pendingTtlMs = options.pendingTtlMs ?? 120_000;
  const spentTtlMs = options.spentTokenTtlMs ?? 3_600_000;
  const maxSpent = options.maxSpentTokens ?? 100_000;

  const pending = new Map<string, Pending>();
  /** tag → when it was spent; Map order is insertion order, so the oldest come first. */
  const spent = new Map<string, number>();

  function drop(tag: string, entry: Pending): void {
    if (pending.get(tag) === entry) pending.delete(tag);
    if (entry.connection) settle(entry.connection.destroy());
  }

  function sweep(): void {
    const at = now();
    for (const [tag, entry] of pending) if (at - entry.createdAt > pendingTtlMs) drop(tag, entry);
    for (const [tag, spentAt] of spent) {
      if (at - spentAt <= spentTtlMs && spent.size <= maxSpent) break;
      spent.delete(tag);
    }
  }
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();

  link.onConnection((connection) => {
    const tag = connection.connectionTag ?? '';
    const entry = pending.get(tag);
    connection.on('error', (error: unknown) => logger.debug({ err: error }, 'payment connection error'));
    if (!entry || entry.connection) {
      // Unknown, expired or spent token, or a second connection for one token: refuse it.
      settle(connection.destroy());
      return;
    }
    entry.connection = connection;
    connection.on('close', () => {
      // Closed before its request claimed it: forget it, the payer's retry gets a new challenge.
      if (pending.get(tag) === entry) drop(tag, entry);
    });
    connection.on('stream', (stream: DataAndMoneyStream) => {
      stream.on('error', (error: unknown) => logger.debug({ err: error }, 'payment stream error'));
      if (entry.stream) {
        stream.destroy();
        return;
      }
      entry.stream = stream;
      // Payers send no data; keep the stream flowing so its 'end' is seen.
      stream.resume();
      stream.write(READY_SIGNAL);
    });
  });

  return {
    challenge(token) {
      const tag = token.toString('hex');
      if (spent.has(tag)) throw codiusError('pay_token_used');
      const entry = pending.get(tag);
      if (!entry && pending.size >= maxPending) {
        sweep();
        if (pending.size >= maxPending) {
          throw new CodiusError('too_many_pending_payments', { limit: maxPending });
        }
      }
      const { destinationAccount, sharedSecret } = link.credentialsFor(tag);
      if (entry) entry.createdAt = now();
      else pending.set(tag, { createdAt: now() });
      return `interledger-stream ${destinationAccount} ${sharedSecret.toString('base64')}`;
    },
    claim(token) {
      const tag = token.toString('hex');
      const entry = pending.get(tag);
      if (!entry?.stream || !entry.connection) return undefined;
      pending.delete(tag);
      spent.set(tag, now());
      if (spent.size > maxSpent) sweep();
      return paymentStream(entry.connection, entry.stream);
    },
    stats: () => ({ pending: pending.size, spent: spent.size }),
    close() {
      clearInterval(sweeper);
      for (const [tag, entry] of pending) drop(tag, entry);
    },
  };
}
