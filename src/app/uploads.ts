import { createCheckoutService, type CheckoutService } from '../checkout/checkout-service.js';
import { createGrantSeal } from '../checkout/grant-seal.js';
import { createRenewalService, type RenewalService } from '../checkout/renewal-service.js';
import type { Capacity } from '../pods/capacity.js';
import type { ManifestHash } from '../domain/types.js';
import { codiusError } from '../domain/errors.js';
import type { BillingService, PaymentAttempt } from '../payments/billing.js';
import { createRentReceiver, type RentReceiver } from '../payments/rent.js';
import { createUploadService, type UploadService } from '../uploads/upload-service.js';
import type { PhaseContext } from './phase-context.js';
import { podBalanceOf } from './pod-payments.js';
import type { PodPayments } from './pod-payments.js';
import type { IlpAndPayments, RuntimeAndPods, StoreAndSecret } from './phases.js';

/** What the public API serves uploads with. */
export interface UploadServices {
  uploads: UploadService;
  /** The web checkout, when the host takes Open Payments. */
  checkout?: CheckoutService;
  /** Renewals from tenants' wallets, with the checkout. */
  renewals?: RenewalService;
  /** Pods' rent addresses. */
  rent: RentReceiver;
}

/** An extension that credit alone pays for: there is no pay token to offer a payment for. */
const CREDIT_ONLY: PaymentAttempt = {
  hasToken: () => false,
  token: () => {
    throw codiusError('pay_token_missing');
  },
  client: 'rent',
  afterResponse: (done) => done(),
};

/** The STREAM price of a duration (rent arrives over STREAM). */
function streamPrice(billing: BillingService, seconds: number): bigint {
  const price = billing.prices(seconds).find((p) => p.method === 'stream');
  if (!price) throw new Error('STREAM takes no payments now');
  return price.amount;
}

/**
 * Uploads for every client, and with Open Payments the web checkout and the renewals it begins. Renewals
 * extend through the upload service, and GET /pods shows each pod's renewal: the two refer to each other,
 * so the upload service reads renewals through a reference set once both exist.
 */
export async function uploadsAndCheckout(
  context: PhaseContext,
  inputs: {
    base: StoreAndSecret;
    pods: RuntimeAndPods;
    money: IlpAndPayments;
    podMoney?: PodPayments;
    domainsOf?: (hash: ManifestHash) => string[];
  },
  capacity: Capacity,
): Promise<UploadServices> {
  const { config, logger, lifecycle } = context;
  const { pods } = inputs.pods;
  const { link, billing, tenantWallets: wallets } = inputs.money;
  const { store, hostSecret } = inputs.base;
  const later: { renewals?: RenewalService } = {};
  const uploads = createUploadService(
    {
      publicUri: config.publicUri,
      quoteMode: config.quoteMode,
      maxContainers: config.sandbox.maxContainers,
      paymentTimeoutMs: config.payments.timeoutMs,
    },
    {
      pods,
      capacity,
      billing,
      registries: inputs.pods.registries,
      ...(inputs.podMoney ? { podBalance: podBalanceOf(inputs.podMoney, () => link.asset()) } : {}),
      renewalOf: (hash) => later.renewals?.view(hash) ?? Promise.resolve(undefined),
      ...(inputs.domainsOf ? { domainsOf: inputs.domainsOf } : {}),
    },
  );
  const rent = createRentReceiver({
    link,
    ledger: store.ledger,
    pods,
    priceOf: (seconds) => streamPrice(billing, seconds),
    extendWithCredit: async (hash, seconds) => {
      await uploads.extend(hash, seconds, CREDIT_ONLY);
    },
    maxDurationSeconds: config.payments.maxDurationSeconds,
    logger: logger.child({ component: 'rent' }),
  });
  inputs.podMoney?.connector.answerPods({
    rent: (hash) => rent.spsp(hash),
    status: async (hash) => {
      const pod = await pods.get(hash);
      if (!pod) throw new Error('no such pod');
      return { manifestHash: hash, expiry: new Date(pod.expiresAt).toISOString() };
    },
  });
  if (!wallets) return { uploads, rent };
  const checkoutLogger = logger.child({ component: 'checkout' });
  const renewalService = await lifecycle.start(
    'renewals',
    () => {
      const service = createRenewalService({
        renewals: store.renewals,
        uploads,
        wallets,
        seal: createGrantSeal(hostSecret),
        logger: checkoutLogger,
        onRenewal: (outcome) => context.metrics.renewal(outcome),
      });
      service.start();
      return service;
    },
    (started) => started.stop(),
  );
  later.renewals = renewalService;
  const checkout = createCheckoutService({
    publicUri: config.publicUri,
    uploads,
    prices: (seconds) => billing.prices(seconds),
    wallets,
    renewals: renewalService,
    logger: checkoutLogger,
  });
  return { uploads, checkout, renewals: renewalService, rent };
}
