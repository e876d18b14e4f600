import { randomBytes, randomUUID } from 'node:crypto';
import { CodiusError, isCodiusError } from '../domain/errors.js';
import type { HostAsset, ManifestHash } from '../domain/types.js';
import { hashManifest } from '../manifest/index.js';
import type { Logger } from '../logger.js';
import { wholeUnits } from '../payments/price.js';
import type { PodAnswer, UploadService } from '../uploads/upload-service.js';
import { createCheckoutSessions } from './checkout-sessions.js';
import { renewalMarginMs, type RenewalService } from './renewal-service.js';
import { incomingPaymentOf, runPod, type CheckoutPod } from './run-pod.js';
import { createTenantPayment, type ConsentState, type FinishQuery } from './tenant-payment.js';
import type { TenantWallets, WalletAmount } from './tenant-wallet.js';

export type { CheckoutPod } from './run-pod.js';
export type { FinishQuery } from './tenant-payment.js';

export interface CheckoutRequest {
  pod: CheckoutPod;
  durationSeconds: number;
  /** The tenant's Open Payments wallet address. */
  walletAddress: string;
  /** Who asks (an address, or a /64), for per-client bounds. */
  client: string;
  /** Keep it running: the grant allows one payment of the price per period, and codiusd renews. */
  renew?: boolean;
}

/** A renewal begun at checkout: when it is next due, and the tenant's link to stop it. */
export interface CheckoutRenewal {
  stopUrl: string;
  nextAt: string;
  interval: string;
}

/** Where a started checkout goes: to the tenant's wallet for consent, or done (credit paid for it). */
export type CheckoutStart =
  | { kind: 'consent'; redirect: string; debitAmount: WalletAmount; interval?: string }
  | { kind: 'done'; answer: PodAnswer };

/**
 * How a checkout ended once the tenant came back: the pod's answer, or why not with what was asked, so
 * the form can be shown again as it was (the checkout itself is over either way).
 */
export type CheckoutOutcome =
  | { ok: true; answer: PodAnswer; renewal?: CheckoutRenewal }
  | { ok: false; error: CodiusError; request: Required<Omit<CheckoutRequest, 'client'>> };

/** What the form shows while the tenant types: the manifest's hash and the price in every asset. */
export interface CheckoutQuote {
  /** Null for an extension (the hash is the pod's). */
  manifestHash: ManifestHash | null;
  prices: CheckoutPrice[];
}

/** A price in one method's asset: base units (`value`) and whole units (`amount`). */
export interface CheckoutPrice {
  method: string;
  value: string;
  amount: string;
  assetCode: string;
  assetScale: number;
}

export interface CheckoutService {
  prices(durationSeconds: number): CheckoutPrice[];
  quote(pod: CheckoutPod, durationSeconds: number): CheckoutQuote;
  start(request: CheckoutRequest): Promise<CheckoutStart>;
  /** Throws CodiusError `checkout_unknown` for an id that is unknown, ended or already finished. */
  finish(id: string, query: FinishQuery): Promise<CheckoutOutcome>;
}

export interface CheckoutServiceOptions {
  /** CODIUS_PUBLIC_URI: the finish redirect comes back to `<publicUri>/deploy/finish/<id>`. */
  publicUri: string;
  uploads: Pick<UploadService, 'upload' | 'extend'>;
  /** The price of a duration in each method that takes payments now. */
  prices: (durationSeconds: number) => Array<{ method: string; asset: HostAsset; amount: bigint }>;
  wallets: TenantWallets;
  logger: Logger;
  /** Renewals, when the host keeps pods running from their tenants' wallets. */
  renewals?: Pick<RenewalService, 'begin'>;
  now?: () => number;
}

interface Session extends ConsentState {
  /** The grant's repeating interval when the tenant chose renewal. */
  interval?: string;
  pod: CheckoutPod;
  durationSeconds: number;
  token: Buffer;
  client: string;
}

/**
 * One payment per period of the pod's duration (ISO 8601 repeating interval). The periods start one
 * renewal margin before now, so the payment at checkout falls in the first and each renewal, due that
 * margin before the pod's time ends, in the next.
 */
function intervalOf(at: number, durationSeconds: number): string {
  const start = new Date(at - renewalMarginMs(durationSeconds)).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `R/${start}/PT${durationSeconds}S`;
}

/**
 * Pays for a pod from the tenant's Open Payments wallet: the host's own offer (an incoming payment on its
 * wallet) is quoted at the tenant's wallet, the tenant approves an outgoing payment of exactly that at
 * their wallet, and on their return the payment is made and the same upload service as for every client
 * runs the pod, booking the money once. Nothing is paid before consent, and nothing paid is lost: money
 * that arrives without buying the pod stays the manifest's credit.
 */
export function createCheckoutService(options: CheckoutServiceOptions): CheckoutService {
  const { uploads } = options;
  const sessions = createCheckoutSessions<Session>();
  const now = options.now ?? Date.now;
  const tenant = createTenantPayment(options.wallets, options.logger, now);

  function prices(durationSeconds: number): CheckoutPrice[] {
    return options.prices(durationSeconds).map(({ method, asset, amount }) => ({
      method,
      value: amount.toString(),
      amount: wholeUnits(amount, asset.scale),
      assetCode: asset.code,
      assetScale: asset.scale,
    }));
  }

  /** The host's offer for this pod, or its answer when credit paid for it all. */
  async function offerFor(request: CheckoutRequest, token: Buffer) {
    try {
      const key = `checkout:${randomUUID()}`;
      return { answer: await runPod(uploads, { ...request, token, key }) };
    } catch (error) {
      if (!isCodiusError(error)) throw error;
      const offer = incomingPaymentOf(error);
      if (offer) return { offer };
      throw isCodiusError(error, 'payment_required') ? new CodiusError('checkout_unavailable', {}) : error;
    }
  }

  return {
    prices,
    quote(pod, durationSeconds) {
      return {
        manifestHash: pod.kind === 'upload' ? hashManifest(pod.request.manifest) : null,
        prices: prices(durationSeconds),
      };
    },

    async start(request) {
      const token = randomBytes(16);
      const { answer, offer } = await offerFor(request, token);
      if (answer) return { kind: 'done', answer };
      const wallet = await tenant.resolve(request.walletAddress);
      const quote = await tenant.quote(wallet, offer.url);
      const nonce = randomUUID();
      // The finish URI names the checkout, so its place is taken before the grant is asked for.
      const id = sessions.reserve(request.client, offer.expiresAt);
      const finishUri = new URL(`/deploy/finish/${id}`, options.publicUri).href;
      const interval =
        request.renew && options.renewals ? intervalOf(now(), request.durationSeconds) : undefined;
      const consent = await tenant
        .askConsent(wallet, quote.debitAmount, { uri: finishUri, nonce }, interval)
        .catch((error: unknown) => {
          sessions.take(id);
          throw error;
        });
      const { pod, durationSeconds, client } = request;
      const incomingPayment = offer.url;
      sessions.fill(id, {
        pod,
        durationSeconds,
        token,
        client,
        wallet,
        quote,
        incomingPayment,
        nonce,
        consent,
        ...(interval ? { interval } : {}),
      });
      options.logger.info({ wallet: wallet.id, debit: quote.debitAmount }, 'checkout waiting for consent');
      return {
        kind: 'consent',
        redirect: consent.redirect,
        debitAmount: quote.debitAmount,
        ...(interval ? { interval } : {}),
      };
    },

    async finish(id, query) {
      const session = sessions.take(id);
      if (!session) throw new CodiusError('checkout_unknown', {});
      try {
        const grant = await tenant.payAfterConsent(session, query);
        const answer = await runPod(uploads, { ...session, key: `checkout:${id}` });
        if (!session.interval || !options.renewals) return { ok: true, answer };
        const { interval } = session;
        const started = await options.renewals.begin({
          hash: answer.manifestHash,
          wallet: session.wallet,
          grant,
          durationSeconds: session.durationSeconds,
          interval,
          expiry: answer.expiry,
        });
        const stopUrl = new URL(`/deploy/renewal/${started.stopKey}`, options.publicUri).href;
        return {
          ok: true,
          answer,
          renewal: { stopUrl, nextAt: new Date(started.nextAt).toISOString(), interval },
        };
      } catch (error) {
        if (!isCodiusError(error)) throw error;
        const { pod, durationSeconds, wallet } = session;
        const renew = session.interval !== undefined;
        return { ok: false, error, request: { pod, durationSeconds, walletAddress: wallet.id, renew } };
      }
    },
  };
}
