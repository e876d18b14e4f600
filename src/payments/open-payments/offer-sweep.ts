import type { Logger } from '../../logger.js';
import type { OpenPaymentOffer } from '../../store/repositories/open-payments.js';
import type { Store } from '../../store/store.js';
import type { HostWallet } from './host-wallet.js';

/** How many ended offers one sweep settles. */
const SWEEP_BATCH = 100;

/** What an incoming payment holds, in base units. */
export const receivedOf = (payment: { receivedAmount: { value: string } }): bigint =>
  BigInt(payment.receivedAmount.value);

export interface OfferSweep {
  /** One sweep now (the recovery at start), then one every interval until stop(). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Offers that ended (expired) with money nobody booked: a payer who paid and never came back, a payment
 * short of the price, a request cut off by a crash. Each incoming payment is completed, so nothing more
 * arrives, and what it holds becomes its manifest's credit in one line under its URL, once; an offer a
 * request is collecting now is left to that request.
 */
export function createOfferSweep(options: {
  wallet: HostWallet;
  store: Pick<Store, 'openPayments' | 'ledger' | 'transaction'>;
  logger: Logger;
  now: () => number;
  isClaimed: (payTokenHash: string) => boolean;
  /** How often ended offers are looked for. */
  intervalMs: number;
}): OfferSweep {
  const { wallet, store, logger, now } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function settleEnded(offer: OpenPaymentOffer): Promise<void> {
    if (options.isClaimed(offer.payTokenHash)) return;
    const ref = offer.incomingPayment;
    const received = (await store.ledger.booksRef(ref)) ? 0n : receivedOf(await wallet.complete(ref));
    await store.transaction(async (repos) => {
      if (received > 0n && !(await repos.ledger.booksRef(ref))) {
        await repos.ledger.append({
          manifestHash: offer.manifestHash,
          amount: received.toString(),
          credit: received.toString(),
          assetCode: offer.asset.code,
          assetScale: offer.asset.scale,
          purpose: received < offer.amount ? 'shortfall' : 'recovered',
          payTokenHash: offer.payTokenHash,
          method: 'open-payments',
          paymentRef: ref,
        });
      }
      await repos.openPayments.settle(offer.payTokenHash, now());
    });
    if (received > 0n) {
      logger.warn(
        { hash: offer.manifestHash, incomingPayment: ref, amount: received.toString() },
        'an Open Payments offer ended with money nobody booked: kept as the manifest credit',
      );
    }
  }

  async function sweep(): Promise<void> {
    for (const offer of await store.openPayments.expired(now(), SWEEP_BATCH)) {
      await settleEnded(offer).catch((error: unknown) =>
        logger.warn(
          { err: error, incomingPayment: offer.incomingPayment },
          'could not settle an ended offer; will retry',
        ),
      );
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep().finally(schedule);
    }, options.intervalMs);
    timer.unref();
  }

  return {
    async start() {
      await sweep().catch((error: unknown) =>
        logger.warn({ err: error }, 'could not read ended Open Payments offers'),
      );
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
