import { CodiusError, codiusError } from '../../domain/errors.js';
import type { HostAsset, PaymentOffer } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import type { OpenPaymentOffer } from '../../store/repositories/open-payments.js';
import type { Store } from '../../store/store.js';
import { sleep } from '../../util/sleep.js';
import type { HostWallet } from '../open-payments/host-wallet.js';
import { createOfferSweep, receivedOf as amountOf } from '../open-payments/offer-sweep.js';
import { payTokenHash } from '../pay-token.js';
import type { ClaimedPayment, CollectedPayment, PaymentMethod, PaymentPurpose } from './method.js';

/** How often an incoming payment is read while its payer's request waits for it. */
const POLL_MS = 1_000;

export interface OpenPaymentsMethodOptions {
  wallet: HostWallet;
  /** Where offers are recorded, and their unbooked money booked as credit. */
  store: Pick<Store, 'openPayments' | 'ledger' | 'transaction'>;
  /** The wallet's asset, once its address was read. */
  asset: () => HostAsset | null;
  costPerMonth: () => string;
  /** How long an offered incoming payment can be paid (a person may have to consent in their wallet first). */
  offerTtlMs: number;
  /** How long a payer's request waits for the money to arrive before it is offered again. */
  timeoutMs: number;
  logger: Logger;
  now?: () => number;
  pollMs?: number;
}

const offerOf = (offer: OpenPaymentOffer): PaymentOffer => ({
  body: {
    openPayments: {
      incomingPayment: offer.incomingPayment,
      walletAddress: offer.walletAddress,
      amount: { value: offer.amount.toString(), assetCode: offer.asset.code, assetScale: offer.asset.scale },
      expiresAt: new Date(offer.expiresAt).toISOString(),
    },
  },
});

/**
 * Open Payments: the host is paid into its own wallet. A 402 offers an incoming payment made on that
 * wallet for the request's pay token (the same one for every retry with that token), recorded before it
 * is offered. The payer pays it from any Open Payments wallet and retries: the incoming payment is read
 * until it holds the price (or the request's time is up: then it is offered again), completed so nothing
 * more arrives, and what it holds is booked under its URL, once.
 */
export function createOpenPaymentsMethod(options: OpenPaymentsMethodOptions): PaymentMethod {
  const { wallet, store, logger } = options;
  const offers = store.openPayments;
  const now = options.now ?? Date.now;
  /** Pay tokens whose request is collecting now: a second request, and the sweep, leave them alone. */
  const claimed = new Set<string>();
  const sweep = createOfferSweep({
    wallet,
    store,
    logger,
    now,
    isClaimed: (hash) => claimed.has(hash),
    // Ended offers are found within half their life (and every 30 s at most).
    intervalMs: Math.min(30_000, Math.max(1_000, options.offerTtlMs / 2)),
  });

  async function collect(
    offer: OpenPaymentOffer,
    due: bigint,
    purpose: PaymentPurpose,
  ): Promise<CollectedPayment> {
    const ref = offer.incomingPayment;
    const deadline = now() + options.timeoutMs;
    for (;;) {
      const payment = await wallet.get(ref);
      const expired = offer.expiresAt <= now() || payment.completed;
      if (amountOf(payment) >= due || expired) {
        // Admitted or not, no more money may arrive once the outcome is decided.
        const admitted = amountOf(payment) >= due && (await (purpose.admit?.() ?? Promise.resolve(true)));
        const received = amountOf(await wallet.complete(ref));
        if (!admitted && received >= due) return { received, complete: false, refused: true, ref };
        return { received, complete: received >= due, ref };
      }
      if (now() >= deadline) throw new CodiusError('payment_required', { offers: [offerOf(offer)] });
      await sleep(options.pollMs ?? POLL_MS);
    }
  }

  return {
    name: 'open-payments',
    asset: options.asset,
    costPerMonth: options.costPerMonth,
    recover: () => sweep.start(),
    stop: () => sweep.stop(),
    async claim(token) {
      const hash = payTokenHash(token);
      const offer = await offers.byToken(hash);
      if (!offer) return undefined;
      if (offer.settledAt !== null || (await store.ledger.booksRef(offer.incomingPayment))) {
        throw codiusError('pay_token_used');
      }
      if (claimed.has(hash)) throw codiusError('pay_token_used');
      claimed.add(hash);
      const payment: ClaimedPayment = {
        method: 'open-payments',
        asset: offer.asset,
        collect: (due, purpose) => collect(offer, due, purpose),
        finish: () => {
          claimed.delete(hash);
        },
      };
      return payment;
    },
    async offer({ purpose, amount }) {
      const known = await offers.byToken(purpose.payTokenHash);
      if (known) {
        if (known.settledAt !== null) throw codiusError('pay_token_used');
        return offerOf(known);
      }
      const address = await wallet.address();
      const expiresAt = now() + options.offerTtlMs;
      const incoming = await wallet.create({
        amount,
        asset: purpose.asset,
        expiresAt: new Date(expiresAt),
        metadata: {
          manifestHash: purpose.hash,
          durationSeconds: String(purpose.durationSeconds),
          use: purpose.use,
        },
      });
      const offer: OpenPaymentOffer = {
        payTokenHash: purpose.payTokenHash,
        incomingPayment: incoming.id,
        manifestHash: purpose.hash,
        use: purpose.use,
        durationSeconds: purpose.durationSeconds,
        amount,
        asset: purpose.asset,
        walletAddress: address.id,
        createdAt: now(),
        expiresAt,
        settledAt: null,
      };
      try {
        await offers.record(offer);
      } catch (error) {
        // Another request with this token recorded its incoming payment first: offer that one.
        const first = await offers.byToken(purpose.payTokenHash);
        if (!first) throw error;
        return offerOf(first);
      }
      logger.info(
        { hash: purpose.hash, incomingPayment: incoming.id },
        'offered an Open Payments incoming payment',
      );
      return offerOf(offer);
    },
  };
}
