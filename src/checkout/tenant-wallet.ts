import { lookup } from 'node:dns/promises';
import type { AuthenticatedClient, WalletAddress } from '@interledger/open-payments';
import { isPublicAddress } from '../net/address-policy.js';

/** An amount as Open Payments writes it. */
export interface WalletAmount {
  value: string;
  assetCode: string;
  assetScale: number;
}

/** The tenant's wallet as its provider describes it. */
export interface TenantWallet {
  id: string;
  assetCode: string;
  assetScale: number;
  authServer: string;
  resourceServer: string;
}

/** What the tenant is asked to approve: a quote from their wallet to the host's incoming payment. */
export interface TenantQuote {
  id: string;
  debitAmount: WalletAmount;
  receiveAmount: WalletAmount;
  expiresAt: string | null;
}

/** A grant waiting for the tenant's consent. */
export interface PendingConsent {
  /** The wallet's consent page. */
  redirect: string;
  /** The authorization server's nonce for the finish hash. */
  serverNonce: string;
  continueUri: string;
  continueToken: string;
}

/** An outgoing payment as created: whether the wallet could send it. */
export interface TenantPayment {
  id: string;
  failed: boolean;
  sent: bigint;
}

/**
 * What codiusd does at a tenant's wallet, as an Open Payments client signing with the host's key: read
 * the wallet, quote a payment to the host, ask for the tenant's consent to an outgoing payment, and pay.
 */
export interface TenantWallets {
  /** Throws `WalletRefused` for an address codiusd must not contact. */
  resolve(url: string): Promise<TenantWallet>;
  quote(wallet: TenantWallet, receiver: string): Promise<TenantQuote>;
  /** Consent to pay `debitAmount`, once, or once in every period of `interval` (ISO 8601, repeating). */
  askConsent(
    wallet: TenantWallet,
    debitAmount: WalletAmount,
    finish: { uri: string; nonce: string },
    interval?: string,
  ): Promise<PendingConsent>;
  /** The outgoing-payment grant, once the tenant approved; throws when they did not. */
  continueGrant(consent: PendingConsent, interactRef: string): Promise<GrantToken>;
  pay(wallet: TenantWallet, accessToken: string, quoteId: string): Promise<TenantPayment>;
  /** A new access token for a grant (tokens expire); throws when the grant was revoked. */
  rotate(grant: GrantToken): Promise<GrantToken>;
  /** Ends the grant at the tenant's wallet. */
  revoke(grant: GrantToken): Promise<void>;
}

/** An access token and the URL that manages it (rotation, revocation). */
export interface GrantToken {
  value: string;
  manage: string;
}

/** The status of a failed call to a wallet's server, when it answered. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** A wallet address (or a server it names) that codiusd will not contact, with the reason. */
export class WalletRefused extends Error {}

/**
 * Wallet servers must be https on public addresses, so a tenant cannot make the host call its own network
 * (in development mode, http on loopback too). Names are resolved and every address checked; a name that
 * changes its answer between this check and the request is not caught here.
 */
export async function checkWalletServer(url: string, dev: boolean): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WalletRefused('not a URL');
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '127.0.0.1' || host === '::1';
  if (dev && loopback && (parsed.protocol === 'http:' || parsed.protocol === 'https:')) return;
  if (parsed.protocol !== 'https:') throw new WalletRefused(`${parsed.origin} is not https`);
  if (parsed.username || parsed.password) throw new WalletRefused('a wallet address holds no credentials');
  const addresses = /^[\d.]+$|:/.test(host)
    ? [host]
    : await lookup(host, { all: true }).then(
        (found) => found.map((a) => a.address),
        () => {
          throw new WalletRefused(`${host} does not resolve`);
        },
      );
  if (addresses.some((address) => !isPublicAddress(address)))
    throw new WalletRefused(`${host} is not on a public address`);
}

const amountOf = (amount: WalletAmount): WalletAmount => ({
  value: amount.value,
  assetCode: amount.assetCode,
  assetScale: amount.assetScale,
});

/** The tenant wallets, through the official client (`client`) as the host. */
export function createTenantWallets(client: () => Promise<AuthenticatedClient>, dev: boolean): TenantWallets {
  async function resolve(url: string): Promise<TenantWallet> {
    await checkWalletServer(url, dev);
    const op = await client();
    const wallet: WalletAddress = await op.walletAddress.get({ url });
    await checkWalletServer(wallet.authServer, dev);
    await checkWalletServer(wallet.resourceServer, dev);
    return {
      id: wallet.id,
      assetCode: wallet.assetCode,
      assetScale: wallet.assetScale,
      authServer: wallet.authServer,
      resourceServer: wallet.resourceServer,
    };
  }

  return {
    resolve,
    async quote(wallet, receiver) {
      const op = await client();
      const grant = await op.grant.request(
        { url: wallet.authServer },
        { access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] } },
      );
      if (!('access_token' in grant) || !grant.access_token)
        throw new Error('the wallet gave no grant for quotes');
      const quote = await op.quote.create(
        { url: wallet.resourceServer, accessToken: grant.access_token.value },
        { walletAddress: wallet.id, receiver, method: 'ilp' },
      );
      return {
        id: quote.id,
        debitAmount: amountOf(quote.debitAmount),
        receiveAmount: amountOf(quote.receiveAmount),
        expiresAt: quote.expiresAt ?? null,
      };
    },
    async askConsent(wallet, debitAmount, finish, interval) {
      const op = await client();
      const grant = await op.grant.request(
        { url: wallet.authServer },
        {
          access_token: {
            access: [
              {
                type: 'outgoing-payment',
                actions: ['create', 'read'],
                identifier: wallet.id,
                limits: interval ? { debitAmount, interval } : { debitAmount },
              },
            ],
          },
          interact: {
            start: ['redirect'],
            finish: { method: 'redirect', uri: finish.uri, nonce: finish.nonce },
          },
        },
      );
      if (!('interact' in grant)) throw new Error('the wallet granted an outgoing payment without consent');
      return {
        redirect: grant.interact.redirect,
        serverNonce: grant.interact.finish,
        continueUri: grant.continue.uri,
        continueToken: grant.continue.access_token.value,
      };
    },
    async continueGrant(consent, interactRef) {
      const op = await client();
      const grant = await op.grant.continue(
        { url: consent.continueUri, accessToken: consent.continueToken },
        { interact_ref: interactRef },
      );
      if (!('access_token' in grant) || !grant.access_token)
        throw new Error('the wallet gave no outgoing-payment grant');
      return { value: grant.access_token.value, manage: grant.access_token.manage };
    },
    async rotate(grant) {
      const op = await client();
      const rotated = await op.token.rotate({ url: grant.manage, accessToken: grant.value });
      return { value: rotated.access_token.value, manage: rotated.access_token.manage };
    },
    async revoke(grant) {
      const op = await client();
      await op.token.revoke({ url: grant.manage, accessToken: grant.value });
    },
    async pay(wallet, accessToken, quoteId) {
      const op = await client();
      const payment = await op.outgoingPayment.create(
        { url: wallet.resourceServer, accessToken },
        { walletAddress: wallet.id, quoteId },
      );
      return { id: payment.id, failed: payment.failed, sent: BigInt(payment.sentAmount.value) };
    },
  };
}
