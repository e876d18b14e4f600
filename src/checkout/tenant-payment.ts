import { createHash } from 'node:crypto';
import { CodiusError } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import {
  WalletRefused,
  type GrantToken,
  type PendingConsent,
  type TenantQuote,
  type TenantWallet,
  type TenantWallets,
  type WalletAmount,
} from './tenant-wallet.js';

/** A checkout waiting for the tenant's consent: what they approve, and how to check their return. */
export interface ConsentState {
  wallet: TenantWallet;
  quote: TenantQuote;
  /** The host's incoming payment the quote pays. */
  incomingPayment: string;
  /** codiusd's nonce for the finish hash. */
  nonce: string;
  consent: PendingConsent;
}

/** What the wallet put in the finish redirect. */
export interface FinishQuery {
  interactRef?: string;
  hash?: string;
}

/** The finish hash (GNAP): sha256 of both nonces, the reference and the grant endpoint; base64 or base64url. */
function finishHashMatches(received: string, expected: string[]): boolean {
  const digest = createHash('sha256').update(expected.join('\n')).digest();
  const normalized = Buffer.from(received.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return normalized.equals(digest);
}

const amountText = (amount: WalletAmount): string =>
  `${amount.value} (${amount.assetCode}, scale ${amount.assetScale})`;

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export interface TenantPayment {
  /** The tenant's wallet; CodiusError `checkout_wallet_refused` or `checkout_wallet_unreachable`. */
  resolve(url: string): Promise<TenantWallet>;
  /** A quote from the tenant's wallet to the host's incoming payment. */
  quote(wallet: TenantWallet, receiver: string): Promise<TenantQuote>;
  /** The grant the tenant is asked to approve, limited to `debit`, coming back to `finishUri`. */
  askConsent(
    wallet: TenantWallet,
    debit: WalletAmount,
    finish: { uri: string; nonce: string },
    interval?: string,
  ): Promise<PendingConsent>;
  /**
   * After the tenant came back: checks the finish hash, continues the grant and pays the quote (a new one
   * if it expired, refused when it asks more than was approved). Each failure is a coded error; nothing is
   * paid before all checks passed.
   */
  payAfterConsent(state: ConsentState, query: FinishQuery): Promise<GrantToken>;
}

/** The tenant side of a checkout over the wallets' API, with coded errors a page can show. */
export function createTenantPayment(
  wallets: TenantWallets,
  logger: Logger,
  now: () => number,
): TenantPayment {
  async function quote(wallet: TenantWallet, receiver: string): Promise<TenantQuote> {
    try {
      return await wallets.quote(wallet, receiver);
    } catch (error) {
      throw new CodiusError('checkout_wallet_unreachable', { wallet: wallet.id, reason: reasonOf(error) });
    }
  }

  /** The approved quote, or a new one when it expired, refused if it asks more than was approved. */
  async function currentQuote(state: ConsentState): Promise<TenantQuote> {
    const { quote: approved } = state;
    if (approved.expiresAt === null || Date.parse(approved.expiresAt) > now() + 5_000) return approved;
    const fresh = await quote(state.wallet, state.incomingPayment);
    if (BigInt(fresh.debitAmount.value) > BigInt(approved.debitAmount.value))
      throw new CodiusError('checkout_price_changed', {
        approved: amountText(approved.debitAmount),
        now: amountText(fresh.debitAmount),
      });
    return fresh;
  }

  return {
    async resolve(url) {
      try {
        return await wallets.resolve(url);
      } catch (error) {
        if (error instanceof WalletRefused)
          throw new CodiusError('checkout_wallet_refused', { wallet: url, reason: error.message });
        throw new CodiusError('checkout_wallet_unreachable', { wallet: url, reason: reasonOf(error) });
      }
    },
    quote,
    async askConsent(wallet, debit, finish, interval) {
      try {
        return await wallets.askConsent(wallet, debit, finish, interval);
      } catch (error) {
        throw new CodiusError('checkout_wallet_unreachable', { wallet: wallet.id, reason: reasonOf(error) });
      }
    },
    async payAfterConsent(state, query) {
      if (!query.interactRef) throw new CodiusError('checkout_refused', {});
      const expected = [state.nonce, state.consent.serverNonce, query.interactRef, state.wallet.authServer];
      if (!finishHashMatches(query.hash ?? '', expected)) throw new CodiusError('checkout_unverified', {});
      let grant: GrantToken;
      try {
        grant = await wallets.continueGrant(state.consent, query.interactRef);
      } catch {
        throw new CodiusError('checkout_refused', {});
      }
      const payable = await currentQuote(state);
      let payment;
      try {
        payment = await wallets.pay(state.wallet, grant.value, payable.id);
      } catch (error) {
        throw new CodiusError('checkout_payment_failed', { reason: reasonOf(error) });
      }
      if (payment.failed)
        throw new CodiusError('checkout_payment_failed', {
          reason: 'the wallet could not send it (not enough funds?)',
        });
      logger.info({ wallet: state.wallet.id, payment: payment.id }, 'checkout paid from the tenant wallet');
      return grant;
    },
  };
}
