import { CodiusError, codiusError, isCodiusError, type CreditBearingCode } from '../domain/errors.js';
import type { HostAsset, ManifestHash, Payment } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { LedgerRepository } from '../store/repositories/ledger.js';
import type { Repositories } from '../store/store.js';
import { createCreditBook } from './credits.js';
import { isWorthBooking, paidLine, shortfallLine, unservedLine } from './ledger-lines.js';
import { payTokenHash } from './pay-token.js';
import { priceFor } from './price.js';

/** What a payer delivered for one request. */
export interface CollectedPayment {
  /** Base units that arrived; final, nothing more can arrive for this request. */
  received: bigint;
  /** Whether `received` reached the amount asked for in time. */
  complete: boolean;
  payToken: Buffer;
  /** The payment was ended as it completed: what it would buy was no longer available. */
  refused?: boolean;
}

/** What a payment is for: every packet of it is written with this before it is fulfilled. */
export interface PaymentPurpose {
  hash: ManifestHash;
  asset: HostAsset;
  /**
   * Asked once, as the packet that completes the payment arrives: whether what the money buys can still
   * be had (the memory of a new pod). False refuses that packet and ends the payment.
   */
  admit?: () => Promise<boolean>;
}

/**
 * Gets money for one request from its payer (the HTTP-ILP handshake on the HTTP side). Throws a
 * CodiusError when no payment can be made yet: no or bad Pay-Token, a 402 challenge, no ILP link.
 */
export interface PaymentCollector {
  /** `purpose` says what the money is for, so every packet of it is written with that before it is fulfilled. */
  collect(amount: bigint, purpose?: PaymentPurpose): Promise<CollectedPayment>;
}

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

export interface Charge<T> {
  result: T;
  payment: Payment;
}

export interface BillingService {
  /** The asset the host is paid in; CodiusError `payments_not_connected` while it is not known. */
  asset(): HostAsset;
  /** The price of `durationSeconds` of one pod, in base units of the host asset. */
  price(durationSeconds: number): { asset: HostAsset; amount: bigint };
  /**
   * Charges for `durationSeconds` of a manifest's pod: sets the manifest's credit aside, collects the rest
   * with `collector` (a short payment is kept as credit and ends in `payment_timeout`), then lets `serve`
   * book it. If `serve` fails without booking, the payment becomes credit, and a credit-bearing error
   * says how much. `admit`, when given, is asked as the first money arrives (or before serving, when
   * credit pays for everything); false ends the charge in `host_full` with nothing taken.
   */
  charge<T>(
    hash: ManifestHash,
    durationSeconds: number,
    collector: PaymentCollector,
    serve: (booking: PaymentBooking) => Promise<T>,
    admit?: () => Promise<boolean>,
  ): Promise<Charge<T>>;
}

export interface BillingOptions {
  ledger: Pick<LedgerRepository, 'append' | 'creditBalance'>;
  /** The host asset while connected to the ILP provider. */
  asset(): HostAsset | null;
  /** Whole units of the host asset per 2,628,000 s, exact decimal (may change at run time). */
  costPerMonth(): string;
  logger: Logger;
  /** Told of every payment that ended: complete, or short (what arrived is kept as credit). */
  onPaymentEnded?: (assetCode: string, outcome: 'complete' | 'short', received: bigint) => void;
}

type BookingState = 'open' | 'paid' | 'unserved';

const CREDIT_BEARING: CreditBearingCode[] = ['pod_not_found', 'image_unavailable', 'pod_start_failed'];

type LedgerLine = ReturnType<typeof shortfallLine>;

/** Appends a line outside any transaction. Never throws: a failure is logged for settling by hand. */
async function appendOrLog(
  ledger: Pick<LedgerRepository, 'append'>,
  logger: Logger,
  hash: ManifestHash,
  payment: Payment,
  line: LedgerLine,
): Promise<void> {
  try {
    await ledger.append(line);
  } catch (error) {
    logger.error(
      {
        hash,
        err: error,
        purpose: line.purpose,
        received: payment.received.toString(),
        creditUsed: payment.creditUsed.toString(),
        asset: payment.asset.code,
      },
      'could not book a payment as credit; settle it by hand',
    );
  }
}

/** The money invariant in one place: credit reservation, the ledger lines of every outcome, token hashing. */
export function createBillingService(options: BillingOptions): BillingService {
  const { ledger, logger } = options;
  const credits = createCreditBook((hash, asset) => ledger.creditBalance(hash, asset));

  function asset(): HostAsset {
    const current = options.asset();
    if (!current) throw codiusError('payments_not_connected');
    return current;
  }

  const bookAlone = (hash: ManifestHash, payment: Payment, line: LedgerLine): Promise<void> =>
    appendOrLog(ledger, logger, hash, payment, line);

  /** The host filled up as the payment completed: what arrived is the manifest's credit, the payer is told. */
  async function refusedAsFull(hash: ManifestHash, payment: Payment): Promise<never> {
    if (payment.received === 0n) throw new CodiusError('host_full', {});
    await bookAlone(hash, payment, shortfallLine(hash, { ...payment, creditUsed: 0n }));
    logger.info({ hash, received: payment.received.toString() }, 'the host filled up as a payment completed');
    const { code: assetCode, scale: assetScale } = payment.asset;
    throw new CodiusError('host_full', { keptCredit: { amount: payment.received, assetCode, assetScale } });
  }

  function createBooking(hash: ManifestHash, payment: Payment) {
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

  async function collect(
    hash: ManifestHash,
    collector: PaymentCollector,
    due: bigint,
    free: Payment,
    admit: (() => Promise<boolean>) | undefined,
  ): Promise<Payment> {
    if (due <= 0n) {
      if (admit && !(await admit())) throw new CodiusError('host_full', {});
      return free;
    }
    const collected = await collector.collect(due, { hash, asset: free.asset, ...(admit ? { admit } : {}) });
    const payment: Payment = {
      ...free,
      received: collected.received,
      payTokenHash: payTokenHash(collected.payToken),
    };
    const fields = { hash, received: collected.received.toString(), asset: free.asset.code };
    const complete = collected.complete && collected.refused !== true;
    options.onPaymentEnded?.(free.asset.code, complete ? 'complete' : 'short', collected.received);
    if (collected.refused === true) return refusedAsFull(hash, payment);
    if (complete) {
      logger.info(fields, 'payment received');
      return payment;
    }
    // Short: nothing is bought and the reserved credit stays unspent; what arrived becomes credit.
    if (collected.received > 0n) {
      await bookAlone(hash, payment, shortfallLine(hash, { ...payment, creditUsed: 0n }));
    }
    logger.info({ ...fields, price: (due + free.creditUsed).toString() }, 'payment did not arrive in time');
    throw codiusError('payment_timeout');
  }

  return {
    asset,
    price(durationSeconds) {
      const current = asset();
      return { asset: current, amount: priceFor(options.costPerMonth(), current.scale, durationSeconds) };
    },
    async charge(hash, durationSeconds, collector, serve, admit) {
      const { asset: current, amount: price } = this.price(durationSeconds);
      const reservation = await credits.reserve(hash, current, price);
      try {
        const free: Payment = {
          asset: current,
          received: 0n,
          creditUsed: reservation.amount,
          payTokenHash: null,
        };
        const payment = await collect(hash, collector, price - reservation.amount, free, admit);
        const { booking, state } = createBooking(hash, payment);
        try {
          const result = await serve(booking);
          // Served without a line for what it bought would lose the money: keep it as credit instead.
          if (state() === 'open' && isWorthBooking(payment)) {
            logger.error({ hash }, 'a paid request was served without booking; kept as credit');
            await bookAlone(hash, payment, unservedLine(hash, payment, false));
          }
          return { result, payment };
        } catch (error) {
          if (state() === 'open') await bookAlone(hash, payment, unservedLine(hash, payment, false));
          const kept = payment.received + payment.creditUsed;
          if (state() !== 'paid' && kept > 0n && isCodiusError(error, ...CREDIT_BEARING)) {
            throw error.with({
              keptCredit: { amount: kept, assetCode: current.code, assetScale: current.scale },
            });
          }
          throw error;
        }
      } finally {
        // Only after the line that spends it is committed (or nothing was): see CreditBook.
        await reservation.release();
      }
    },
  };
}
