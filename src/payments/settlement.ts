import { CodiusError, codiusError, isCodiusError, type CreditBearingCode } from '../domain/errors.js';
import type { ManifestHash, Payment } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { LedgerRepository } from '../store/repositories/ledger.js';
import { createBooking, type PaymentBooking } from './booking.js';
import { isWorthBooking, shortfallLine, unservedLine } from './ledger-lines.js';
import type { ClaimedPayment, PaymentPurpose } from './methods/method.js';

export interface Charge<T> {
  result: T;
  payment: Payment;
}

const CREDIT_BEARING: CreditBearingCode[] = ['pod_not_found', 'image_unavailable', 'pod_start_failed'];

/** Appends a line outside any transaction. Never throws: a failure is logged for settling by hand. */
async function appendOrLog(
  ledger: Pick<LedgerRepository, 'append'>,
  logger: Logger,
  hash: ManifestHash,
  payment: Payment,
  line: ReturnType<typeof shortfallLine>,
): Promise<void> {
  try {
    await ledger.append(line);
  } catch (error) {
    const { received, creditUsed } = payment;
    logger.error(
      {
        hash,
        err: error,
        purpose: line.purpose,
        received: received.toString(),
        creditUsed: creditUsed.toString(),
        asset: payment.asset.code,
      },
      'could not book a payment as credit; settle it by hand',
    );
  }
}

const keptCredit = (payment: Payment, amount: bigint) => ({
  amount,
  assetCode: payment.asset.code,
  assetScale: payment.asset.scale,
});

/** What a settlement needs: where lines go, where failures are told, and who hears of every payment. */
export interface SettlementOptions {
  ledger: Pick<LedgerRepository, 'append'>;
  logger: Logger;
  onPaymentEnded?: PaymentEndedListener;
}

/** Told of every payment that ended: complete, or short (what arrived is kept as credit). */
export type PaymentEndedListener = (
  method: string,
  assetCode: string,
  outcome: 'complete' | 'short',
  received: bigint,
) => void;

/** What a charge asks of a claimed payment. */
export interface CollectRequest {
  hash: ManifestHash;
  durationSeconds: number;
  use: 'upload' | 'extend';
  admit?: () => Promise<boolean>;
}

/**
 * How a payment ends in the ledger: collected and judged (complete, short, refused), then served and
 * booked, every amount exactly once, whatever happens in between.
 */
export function createSettlement(options: SettlementOptions) {
  const { ledger, logger } = options;
  const bookAlone = (hash: ManifestHash, payment: Payment, line: ReturnType<typeof shortfallLine>) =>
    appendOrLog(ledger, logger, hash, payment, line);

  /** Collects what is due with a claimed payment, and judges what came: complete, short or refused. */
  async function collect(request: CollectRequest, claimed: ClaimedPayment, base: Payment): Promise<Payment> {
    const { hash } = request;
    const purpose: PaymentPurpose = {
      hash,
      asset: base.asset,
      use: request.use,
      durationSeconds: request.durationSeconds,
      payTokenHash: base.payTokenHash ?? '',
      ...(request.admit ? { admit: request.admit } : {}),
    };
    const collected = await claimed.collect(base.due, purpose);
    const payment: Payment = { ...base, received: collected.received, ref: collected.ref };
    const complete = collected.complete && collected.refused !== true;
    const fields = {
      hash,
      method: payment.method,
      received: payment.received.toString(),
      asset: payment.asset.code,
    };
    options.onPaymentEnded?.(
      payment.method,
      payment.asset.code,
      complete ? 'complete' : 'short',
      payment.received,
    );
    if (complete) {
      logger.info(fields, 'payment received');
      return payment;
    }
    // Nothing is bought and the reserved credit stays unspent; what arrived becomes credit.
    if (payment.received > 0n)
      await bookAlone(hash, payment, shortfallLine(hash, { ...payment, creditUsed: 0n }));
    if (collected.refused === true) {
      logger.info(fields, 'the host filled up as a payment completed');
      throw new CodiusError(
        'host_full',
        payment.received > 0n ? { keptCredit: keptCredit(payment, payment.received) } : {},
      );
    }
    logger.info({ ...fields, due: payment.due.toString() }, 'payment did not arrive in time');
    throw codiusError('payment_timeout');
  }

  /** Serves a payment and makes sure every amount of it is booked exactly once, whatever `serve` does. */
  async function serveAndBook<T>(
    hash: ManifestHash,
    payment: Payment,
    serve: (booking: PaymentBooking) => Promise<T>,
  ): Promise<Charge<T>> {
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
      const kept = state() === 'paid' ? 0n : payment.received + payment.creditUsed;
      if (kept > 0n && isCodiusError(error, ...CREDIT_BEARING)) {
        throw error.with({ keptCredit: keptCredit(payment, kept) });
      }
      throw error;
    }
  }

  return { collect, serveAndBook };
}

export type { PaymentBooking };
