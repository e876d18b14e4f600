import type { Connection, DataAndMoneyStream } from 'ilp-protocol-stream';
import { codiusError, CodiusError } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import type { IlpLink } from '../ilp/link.js';
import type { PaymentInFlight, PaymentPacketRepository } from '../store/repositories/payment-packets.js';

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
  collect(
    amount: bigint,
    timeoutMs: number,
    payment?: PaymentInFlight,
    admit?: () => Promise<boolean>,
  ): Promise<{ received: bigint; complete: boolean; refused: boolean }>;
  /** Ends the stream and its connection; call once the response has gone out. */
  finish(): void;
}

export interface PaymentReceiver {
  /**
   * Registers a pay token whose payer has no stream yet and returns the `Pay` header value: STREAM address
   * and shared secret, with the token (hex) as connection tag. Throws CodiusError `pay_token_used` for a
   * spent token, `too_many_pending_payments` when full, `too_many_client_payments` when `client` already
   * has its share pending, `payments_unavailable` without an ILP link.
   */
  challenge(token: Buffer, client?: string): string;
  /** The payer's stream for this token, if it is ready; it is handed out once, and the token is spent. */
  claim(token: Buffer): PaymentStream | undefined;
  stats(): { pending: number; spent: number; collecting: number };
  /**
   * Shutdown: every payment being collected stops taking money now and ends with what it received (booked
   * as the request's outcome decides, short ones as credit), so a drain need not wait for slow payers.
   */
  freezeAll(): void;
  /** Drops every pending payment and stops the sweep timer. */
  close(): void;
}

export interface PaymentReceiverOptions {
  link: Pick<IlpLink, 'credentialsFor' | 'onConnection' | 'guardFulfillment'>;
  /** Where each packet's amount is written before it is fulfilled. */
  packets: Pick<PaymentPacketRepository, 'record'>;
  logger: Logger;
  now?: () => number;
  /** Most tokens waiting (challenged, or with a stream not yet claimed) at once. */
  maxPending?: number;
  /**
   * Most tokens one client may have waiting, so that unpaid challenges from one address cannot fill the
   * table for everyone.
   */
  maxPendingPerClient?: number;
  /** A challenged token not claimed within this is dropped with its connection. */
  pendingTtlMs?: number;
  /** Spent tokens are remembered this long (to answer replays clearly)… */
  spentTokenTtlMs?: number;
  /** …and at most this many; a forgotten replay just gets a new challenge, never free service. */
  maxSpentTokens?: number;
}

interface Pending {
  createdAt: number;
  client: string;
  connection?: Connection;
  stream?: DataAndMoneyStream;
}

function settle(promise: Promise<unknown>): void {
  promise.catch(() => undefined);
}

/**
 * One claimed payment's bookkeeping. Money is counted as its packets are written to the store (before
 * they are fulfilled), not from the stream's own total, so what the request books is exactly what the
 * store holds for it.
 */
class Collection {
  payment: PaymentInFlight | undefined;
  recorded = 0n;
  frozen = false;
  /** Asked once, as the packet that completes the amount arrives; false refuses it and ends the payment. */
  admit: (() => Promise<boolean>) | undefined;
  /** The amount asked for, and what packets accepted so far (written or being written) add up to. */
  target = 0n;
  accepted = 0n;
  admission: Promise<boolean> | undefined;
  refused = false;
  readonly writes = new Set<Promise<void>>();
  private thaw: (() => void) | undefined;
  readonly frozenSignal = new Promise<void>((resolve) => (this.thaw = resolve));

  freeze(): void {
    this.frozen = true;
    this.thaw?.();
  }

  /** Whether packets may still be taken (read anew after every wait: shutdown may freeze it meanwhile). */
  taking(): boolean {
    return !this.frozen;
  }
}

function paymentStream(
  connection: Connection,
  stream: DataAndMoneyStream,
  collection: Collection,
  forget: () => void,
): PaymentStream {
  let finished = false;
  return {
    async collect(amount, timeoutMs, payment, admit) {
      collection.payment = payment;
      collection.admit = admit;
      collection.target = amount;
      if (amount > 0n && payment) {
        // Ends when the amount arrived, the time is up, the payer closed, or shutdown froze it.
        await Promise.race([
          stream.receiveTotal(amount.toString(), { timeout: timeoutMs }).catch(() => undefined),
          collection.frozenSignal,
        ]);
      }
      // Freeze the amount: from here no packet of this payer is fulfilled (the guard refuses them).
      collection.freeze();
      try {
        stream.setReceiveMax(stream.totalReceived);
      } catch {
        // Already closed: nothing more can arrive anyway.
      }
      // Packets being written when the freeze came are fulfilled once written: count them in.
      await Promise.allSettled([...collection.writes]);
      const received = collection.recorded;
      return { received, complete: received >= amount, refused: collection.refused };
    },
    finish() {
      if (finished) return;
      finished = true;
      collection.freeze();
      forget();
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
 * Takes one packet of a claimed payment: written to the store before it is fulfilled (the store's write is
 * what the request books), refused when nobody collects for it. What the money buys is set aside only as
 * the packet that completes the amount arrives, so holding it costs its whole price; if it cannot be had
 * then, that packet is refused and the request ends at once (what arrived before is the manifest's credit).
 */
async function takePacket(
  collection: Collection | undefined,
  amount: bigint,
  packets: Pick<PaymentPacketRepository, 'record'>,
): Promise<void> {
  const payment = collection?.payment;
  if (!collection || !payment || collection.frozen) throw new Error('no payment is being collected here');
  if (collection.admit && collection.accepted + amount >= collection.target) {
    collection.admission ??= collection.admit();
    if (!(await collection.admission)) {
      collection.refused = true;
      collection.freeze();
      throw new Error('what this payment would buy is no longer available');
    }
    if (!collection.taking()) throw new Error('no payment is being collected here');
  }
  collection.accepted += amount;
  const write = packets.record(payment, amount).then(
    () => {
      collection.recorded += amount;
    },
    (error: unknown) => {
      collection.accepted -= amount;
      throw error;
    },
  );
  collection.writes.add(write);
  try {
    await write;
  } finally {
    collection.writes.delete(write);
  }
}

/**
 * The HTTP-ILP handshake's server side, where a paid stream buys one request only: a token is challenged, its
 * payer opens one STREAM connection tagged with it and gets the ready byte, and the retried request claims
 * that stream exactly once. Claimed tokens are spent; unclaimed ones expire; both sets are bounded.
 */
export function createPaymentReceiver(options: PaymentReceiverOptions): PaymentReceiver {
  const { link, logger } = options;
  const now = options.now ?? Date.now;
  const maxPending = options.maxPending ?? 10_000;
  const maxPerClient = options.maxPendingPerClient ?? 16;
  const pendingTtlMs = options.pendingTtlMs ?? 120_000;
  const spentTtlMs = options.spentTokenTtlMs ?? 3_600_000;
  const maxSpent = options.maxSpentTokens ?? 100_000;

  const pending = new Map<string, Pending>();
  const pendingByClient = new Map<string, number>();

  function forgetPending(tag: string, entry: Pending): void {
    if (pending.get(tag) !== entry) return;
    pending.delete(tag);
    const count = (pendingByClient.get(entry.client) ?? 1) - 1;
    if (count > 0) pendingByClient.set(entry.client, count);
    else pendingByClient.delete(entry.client);
  }
  /** Claimed payments by connection tag, until their request finished. */
  const collecting = new Map<string, Collection>();

  // Every packet is written before it is fulfilled; one nobody is collecting for is refused.
  link.guardFulfillment((amount, tag) => takePacket(collecting.get(tag), amount, options.packets));
  /** tag → when it was spent; Map order is insertion order, so the oldest come first. */
  const spent = new Map<string, number>();

  function drop(tag: string, entry: Pending): void {
    forgetPending(tag, entry);
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
    challenge(token, client = 'unknown') {
      const tag = token.toString('hex');
      if (spent.has(tag)) throw codiusError('pay_token_used');
      const entry = pending.get(tag);
      if (!entry && (pendingByClient.get(client) ?? 0) >= maxPerClient) {
        throw new CodiusError('too_many_client_payments', {
          limit: maxPerClient,
          retryAfterSeconds: Math.ceil(pendingTtlMs / 1000),
        });
      }
      if (!entry && pending.size >= maxPending) {
        sweep();
        if (pending.size >= maxPending) {
          throw new CodiusError('too_many_pending_payments', { limit: maxPending });
        }
      }
      const { destinationAccount, sharedSecret } = link.credentialsFor(tag);
      if (entry) entry.createdAt = now();
      else {
        pending.set(tag, { createdAt: now(), client });
        pendingByClient.set(client, (pendingByClient.get(client) ?? 0) + 1);
      }
      return `interledger-stream ${destinationAccount} ${sharedSecret.toString('base64')}`;
    },
    claim(token) {
      const tag = token.toString('hex');
      const entry = pending.get(tag);
      if (!entry?.stream || !entry.connection) return undefined;
      forgetPending(tag, entry);
      spent.set(tag, now());
      if (spent.size > maxSpent) sweep();
      const collection = new Collection();
      collecting.set(tag, collection);
      return paymentStream(entry.connection, entry.stream, collection, () => {
        if (collecting.get(tag) === collection) collecting.delete(tag);
      });
    },
    stats: () => ({ pending: pending.size, spent: spent.size, collecting: collecting.size }),
    freezeAll() {
      for (const collection of collecting.values()) collection.freeze();
    },
    close() {
      clearInterval(sweeper);
      for (const [tag, entry] of pending) drop(tag, entry);
    },
  };
}
