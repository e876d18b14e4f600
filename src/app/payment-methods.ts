import { createPrivateKey } from 'node:crypto';
import type { AuthenticatedClient } from '@interledger/open-payments';
import { readFile, stat } from 'node:fs/promises';
import type { OpenPaymentsSettings } from '../config/config.js';
import type { HostAsset } from '../domain/types.js';
import type { PriceSetting } from '../host/price-setting.js';
import type { IlpLink } from '../ilp/link.js';
import type { Logger } from '../logger.js';
import { isPublicAddress } from '../net/address-policy.js';
import type { PaymentMethod } from '../payments/methods/method.js';
import { createOpenPaymentsMethod } from '../payments/methods/open-payments.js';
import { createStreamMethod } from '../payments/methods/stream.js';
import { lazyOpenPaymentsClient } from '../payments/open-payments/client.js';
import { createHostWallet, type HostWallet } from '../payments/open-payments/host-wallet.js';
import type { PaymentReceiver } from '../payments/receiver.js';
import { recoverUnbookedPayments } from '../payments/recovery.js';
import type { Store } from '../store/store.js';
import type { PhaseContext } from './phase-context.js';

/** While the wallet address cannot be read (or is refused), it is tried again this often. */
const WALLET_RETRY_MS = 30_000;

/** The key file must be the operator's alone: anyone who reads it can spend the host's incoming payments. */
async function loadPrivateKey(path: string) {
  const mode = (await stat(path)).mode & 0o777;
  if (mode !== 0o600) {
    throw new Error(
      `CODIUS_OPEN_PAYMENTS_PRIVATE_KEY ${path} has mode ${mode.toString(8)}, not 600: chmod 600 ${path}`,
    );
  }
  return createPrivateKey(await readFile(path));
}

/** Servers a wallet names must be https on public addresses (http on loopback in development mode). */
function refusedServer(url: string, dev: boolean): string | null {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (dev && (host === 'localhost' || host === '127.0.0.1' || host === '::1')) return null;
  if (parsed.protocol !== 'https:') return `${url} is not https`;
  if (/^[\d.]+$|:/.test(host) && !isPublicAddress(host)) return `${url} is not on a public address`;
  return null;
}

/**
 * The wallet's asset, read once it answers (retried while it does not), and the price in it: the one
 * configured for Open Payments, else the host's price when the wallet is in the STREAM provider's asset.
 * Without a price for its asset the method takes nothing, and says why once.
 */
function walletAsset(
  wallet: HostWallet,
  settings: OpenPaymentsSettings,
  context: { dev: boolean; streamAsset: () => HostAsset | null; logger: Logger },
) {
  let asset: HostAsset | null = null;
  let warned = false;
  const read = (): void => {
    wallet
      .address()
      .then((address) => {
        const refused =
          refusedServer(address.authServer, context.dev) ??
          refusedServer(address.resourceServer, context.dev);
        if (refused) throw new Error(`the wallet's provider is refused: ${refused}`);
        asset = { code: address.assetCode, scale: address.assetScale };
        context.logger.info({ walletAddress: address.id, asset: address.assetCode }, 'taking Open Payments');
      })
      .catch((error: unknown) => {
        context.logger.error(
          { err: error, walletAddress: settings.walletAddress },
          'cannot use the Open Payments wallet yet',
        );
        setTimeout(read, WALLET_RETRY_MS).unref();
      });
  };
  read();
  return () => {
    const stream = context.streamAsset();
    if (asset && settings.costPerMonth === null && stream && stream.code !== asset.code) {
      if (!warned) {
        context.logger.error(
          { wallet: asset.code, stream: stream.code },
          'the wallet is in another asset than STREAM: set CODIUS_OPEN_PAYMENTS_COST_PER_MONTH to take Open Payments',
        );
        warned = true;
      }
      return null;
    }
    return asset;
  };
}

/** The host's payment methods, and its Open Payments client when it has one (the checkout pays with it). */
export interface HostPaymentMethods {
  methods: PaymentMethod[];
  openPaymentsClient?: () => Promise<AuthenticatedClient>;
}

/** The host's payment methods, in the order they are offered: STREAM through moneyd, then Open Payments. */
export async function paymentMethods(
  context: PhaseContext,
  parts: { store: Store; link: IlpLink; receiver: PaymentReceiver; price: PriceSetting; logger: Logger },
): Promise<HostPaymentMethods> {
  const { config } = context;
  const { store, link, receiver, price, logger } = parts;
  const methods: PaymentMethod[] = [
    createStreamMethod({
      receiver,
      asset: () => link.asset(),
      costPerMonth: () => price.current(),
      timeoutMs: config.payments.timeoutMs,
      recover: () => recoverUnbookedPayments(store, logger),
    }),
  ];
  const settings = config.openPayments;
  if (!settings) return { methods };
  const identity = {
    walletAddressUrl: settings.walletAddress,
    privateKey: await loadPrivateKey(settings.privateKeyPath),
    keyId: settings.keyId,
    useHttp: new URL(settings.walletAddress).protocol === 'http:',
  };
  const client = lazyOpenPaymentsClient(identity);
  const wallet = createHostWallet({ ...identity, client, logger });
  methods.push(
    createOpenPaymentsMethod({
      wallet,
      store,
      asset: walletAsset(wallet, settings, { dev: config.dev, streamAsset: () => link.asset(), logger }),
      costPerMonth: () => settings.costPerMonth ?? price.current(),
      offerTtlMs: settings.offerTtlMs,
      timeoutMs: config.payments.timeoutMs,
      logger,
    }),
  );
  return { methods, openPaymentsClient: client };
}
