import { CodiusError, codiusError } from '../domain/errors.js';
import type { HostAsset, ManifestHash, Payment } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { LedgerRepository } from '../store/repositories/ledger.js';
import type { PaymentBooking } from './booking.js';
import { createCreditBook, type CreditReservation } from './credits.js';
import type { ClaimedPayment, PaymentMethod, PaymentMethodName, PaymentOffer } from './methods/method.js';
import { payTokenHash } from './pay-token.js';
import { priceFor } from './price.js';
import { createSettlement, type Charge, type PaymentEndedListener } from './settlement.js';

export type { BookingRepositories, PaymentBooking } from './booking.js';

/** The payment side of one request, as the HTTP layer gives it. */
export interface PaymentAttempt {
  /** Whether the request names a pay token at all. */
  hasToken(): boolean;
  /** The request's pay token; CodiusError `pay_token_missing` or `pay_token_malformed` otherwise. */
  token(): Buffer;
  /** Who asks (an address, or a /64), for per-client bounds. */
  client: string;
  /** Runs `done` once the response has gone out (or the client went away). */
  afterResponse(done: () => void): void;
}

/** What a request asks to be charged for. */
export interface ChargeRequest {
  hash: ManifestHash;
  durationSeconds: number;
  use: 'upload' | 'extend';
  attempt: PaymentAttempt;
  /**
   * Asked as the money completing the payment arrives (or before serving, when credit pays for
   * everything): whether what it buys can still be had. False ends the charge in `host_full`.
   */
  admit?: () => Promise<boolean>;
}

export type { Charge } from './settlement.js';

export interface BillingService {
  /** The methods that take payments now: asset and price per month in it. */
  methods(): Array<{ method: PaymentMethodName; asset: HostAsset; costPerMonth: string }>;
  /** Each method that takes payments now, with its asset and the price of `durationSeconds` in it. */
  prices(durationSeconds: number): Array<{ method: PaymentMethodName; asset: HostAsset; amount: bigint }>;
  /** The first method's price; CodiusError `payments_not_connected` while no method takes payments. */
  price(durationSeconds: number): { asset: HostAsset; amount: bigint };
  /**
   * Charges for a manifest's pod time. A payment the request's pay token claims with one of the methods
   * decides the asset: the manifest's credit in it is set aside, the rest collected (a short payment is
   * kept as credit and ends in `payment_timeout`). Without one, credit alone may pay; otherwise the answer
   * is a 402 with every method's offer. Then `serve` books it; if `serve` fails without booking, the
   * payment becomes credit, and a credit-bearing error says how much.
   */
  charge<T>(request: ChargeRequest, serve: (booking: PaymentBooking) => Promise<T>): Promise<Charge<T>>;
  /** The STREAM handshake alone (a quote in `stream` mode): a ready stream, or a 402 offering one. */
  handshake(attempt: PaymentAttempt): Promise<void>;
}

export interface BillingOptions {
  ledger: Pick<LedgerRepository, 'append' | 'creditBalance'>;
  /** The payment methods, in the order they are offered and claimed. */
  methods: readonly PaymentMethod[];
  logger: Logger;
  onPaymentEnded?: PaymentEndedListener;
}

type Taking = { method: PaymentMethod; asset: HostAsset };

/** The methods that take payments now, with their asset. */
function takingNow(methods: readonly PaymentMethod[]): Taking[] {
  return methods.flatMap((method) => {
    const asset = method.asset();
    return asset ? [{ method, asset }] : [];
  });
}

function priceIn(method: PaymentMethod, asset: HostAsset, durationSeconds: number): bigint {
  return priceFor(method.costPerMonth(), asset.scale, durationSeconds);
}

/** The first method holding a payment for the request's pay token; released once answered. */
async function claimFor(taking: Taking[], attempt: PaymentAttempt): Promise<ClaimedPayment | undefined> {
  if (!attempt.hasToken()) return undefined;
  const token = attempt.token();
  for (const { method } of taking) {
    const claimed = await method.claim(token);
    if (claimed) {
      attempt.afterResponse(() => claimed.finish());
      return claimed;
    }
  }
  return undefined;
}

async function withReservation<T>(reservation: CreditReservation, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    // Only after the line that spends it is committed (or nothing was): see CreditBook.
    await reservation.release();
  }
}

/** The STREAM handshake alone: a ready stream is claimed (and released once answered), or offered. */
async function streamHandshake(methods: readonly PaymentMethod[], attempt: PaymentAttempt): Promise<void> {
  const stream = methods.find((m) => m.name === 'stream');
  const asset = stream?.asset();
  if (!stream || !asset) throw codiusError('payments_not_connected');
  if (await claimFor([{ method: stream, asset }], attempt)) return;
  const token = attempt.token();
  const purpose = { hash: '', asset, use: 'upload' as const, durationSeconds: 0, payTokenHash: '' };
  const offer = await stream.offer({ token, client: attempt.client, purpose, amount: 0n });
  throw new CodiusError('payment_required', { offers: [offer] });
}

/** The money invariant in one place: credit reservation, the ledger lines of every outcome, token hashing. */
export function createBillingService(options: BillingOptions): BillingService {
  const { ledger, methods } = options;
  const credits = createCreditBook((hash, asset) => ledger.creditBalance(hash, asset));
  const { collect, serveAndBook } = createSettlement(options);

  const taking = (): Taking[] => takingNow(methods);
  const claim = (request: ChargeRequest) => claimFor(taking(), request.attempt);

  /** No payment yet: credit alone pays in some method's asset, or every method makes its offer (402). */
  async function creditOrOffers<T>(
    request: ChargeRequest,
    serve: (booking: PaymentBooking) => Promise<T>,
  ): Promise<Charge<T>> {
    const { hash, durationSeconds } = request;
    const dues: Array<{ method: PaymentMethod; asset: HostAsset; due: bigint }> = [];
    for (const { method, asset } of taking()) {
      const price = priceIn(method, asset, durationSeconds);
      const reservation = await credits.reserve(hash, asset, price);
      if (reservation.amount >= price)
        return withReservation(reservation, () => free(request, asset, price, serve));
      dues.push({ method, asset, due: price - reservation.amount });
      await reservation.release();
    }
    const token = request.attempt.token();
    const offers: PaymentOffer[] = [];
    let unavailable: unknown;
    for (const { method, asset, due } of dues) {
      const purpose = { hash, asset, use: request.use, durationSeconds, payTokenHash: payTokenHash(token) };
      try {
        offers.push(await method.offer({ token, client: request.attempt.client, purpose, amount: due }));
      } catch (error) {
        // A client's own limits are its answer; a method whose provider fails is left out of the offer.
        if (error instanceof CodiusError) throw error;
        options.logger.error({ err: error, method: method.name }, 'a payment method could not make an offer');
        unavailable = error;
      }
    }
    if (offers.length === 0) {
      const problem = unavailable instanceof Error ? unavailable.message : null;
      throw new CodiusError('payments_unavailable', { problem });
    }
    throw new CodiusError('payment_required', { offers });
  }

  async function free<T>(
    request: ChargeRequest,
    asset: HostAsset,
    price: bigint,
    serve: (booking: PaymentBooking) => Promise<T>,
  ): Promise<Charge<T>> {
    if (request.admit && !(await request.admit())) throw new CodiusError('host_full', {});
    const payment: Payment = {
      method: 'credit',
      asset,
      due: 0n,
      received: 0n,
      creditUsed: price,
      payTokenHash: null,
      ref: null,
    };
    return serveAndBook(request.hash, payment, serve);
  }

  return {
    methods: () =>
      taking().map(({ method, asset }) => ({
        method: method.name,
        asset,
        costPerMonth: method.costPerMonth(),
      })),
    prices(durationSeconds) {
      return taking().map(({ method, asset }) => ({
        method: method.name,
        asset,
        amount: priceIn(method, asset, durationSeconds),
      }));
    },
    price(durationSeconds) {
      const [first] = this.prices(durationSeconds);
      if (!first) throw codiusError('payments_not_connected');
      return { asset: first.asset, amount: first.amount };
    },
    async charge(request, serve) {
      if (taking().length === 0) throw codiusError('payments_not_connected');
      const claimed = await claim(request);
      if (!claimed) return creditOrOffers(request, serve);
      const method = methods.find((m) => m.name === claimed.method);
      const price = method ? priceIn(method, claimed.asset, request.durationSeconds) : 0n;
      const reservation = await credits.reserve(request.hash, claimed.asset, price);
      return withReservation(reservation, async () => {
        const base: Payment = {
          method: claimed.method,
          asset: claimed.asset,
          due: price - reservation.amount,
          received: 0n,
          creditUsed: reservation.amount,
          payTokenHash: payTokenHash(request.attempt.token()),
          ref: null,
        };
        const payment = base.due > 0n ? await collect(request, claimed, base) : base;
        if (base.due === 0n && request.admit && !(await request.admit()))
          throw new CodiusError('host_full', {});
        return serveAndBook(request.hash, payment, serve);
      });
    },
    handshake: (attempt) => streamHandshake(methods, attempt),
  };
}
