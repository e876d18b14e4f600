import type { AuthenticatedClient, IncomingPayment, WalletAddress } from '@interledger/open-payments';
import type { HostAsset } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import { lazyOpenPaymentsClient, type ClientIdentity } from './client.js';

/** What the host needs of its wallet's account provider: its address, and incoming payments on it. */
export interface HostWallet {
  /** The wallet address as its provider describes it (asset, servers). */
  address(): Promise<WalletAddress>;
  create(request: {
    amount: bigint;
    asset: HostAsset;
    expiresAt: Date;
    metadata: Record<string, string>;
  }): Promise<IncomingPayment>;
  get(url: string): Promise<IncomingPayment>;
  /** No more money can arrive; answers what arrived. */
  complete(url: string): Promise<IncomingPayment>;
  /** Asks for the incoming-payment grant now (the provider accepts the host's key, or says why not). */
  grant(): Promise<void>;
}

export interface HostWalletOptions extends ClientIdentity {
  logger: Logger;
  /** The client to share (one per identity), else one of its own. */
  client?: () => Promise<AuthenticatedClient>;
}

/** An answer of the resource server that a new access token may fix (expired or revoked). */
function tokenRefused(error: unknown): boolean {
  const status = (error as { status?: number } | null)?.status;
  return status === 401 || status === 403;
}

/**
 * The host's own wallet through the official Open Payments client, signing every request with the host's
 * key. One non-interactive grant (incoming-payment create, read, complete on the host's own wallet
 * address) serves every upload; it is kept in memory only, rotated when the resource server refuses it,
 * and requested anew when rotation fails.
 */
export function createHostWallet(options: HostWalletOptions): HostWallet {
  const { logger } = options;
  let wallet: Promise<WalletAddress> | undefined;
  let token: Promise<{ value: string; manage: string }> | undefined;
  const openPayments = options.client ?? lazyOpenPaymentsClient(options);
  const address = (): Promise<WalletAddress> =>
    (wallet ??= openPayments()
      .then((op) => op.walletAddress.get({ url: options.walletAddressUrl }))
      .catch(forget(() => (wallet = undefined))));

  async function requestGrant(): Promise<{ value: string; manage: string }> {
    const op = await openPayments();
    const { authServer, id } = await address();
    const grant = await op.grant.request(
      { url: authServer },
      {
        access_token: {
          access: [{ type: 'incoming-payment', actions: ['create', 'read', 'complete'], identifier: id }],
        },
      },
    );
    const granted = 'access_token' in grant ? grant.access_token : undefined;
    if (!granted) {
      throw new Error(
        "the wallet's authorization server asked for an interaction to grant incoming payments",
      );
    }
    logger.info({ authServer }, 'got an incoming-payment grant on the host wallet');
    return { value: granted.value, manage: granted.manage };
  }

  const accessToken = () => (token ??= requestGrant().catch(forget(() => (token = undefined))));

  /** A new token after a refusal: the old one rotated, or a new grant when it cannot be. */
  async function renew(refused: { value: string; manage: string }): Promise<void> {
    const op = await openPayments();
    token = op.token
      .rotate({ url: refused.manage, accessToken: refused.value })
      .then((rotated) => ({ value: rotated.access_token.value, manage: rotated.access_token.manage }))
      .catch(() => requestGrant());
    await token.catch(forget(() => (token = undefined)));
  }

  /** A call with the access token, once more with a renewed one if the resource server refuses it. */
  async function authorized<T>(call: (op: AuthenticatedClient, value: string) => Promise<T>): Promise<T> {
    const op = await openPayments();
    const current = await accessToken();
    try {
      return await call(op, current.value);
    } catch (error) {
      if (!tokenRefused(error)) throw error;
      await renew(current);
      return call(op, (await accessToken()).value);
    }
  }

  return {
    address,
    async create(request) {
      const { resourceServer, id } = await address();
      return authorized((op, accessToken) =>
        op.incomingPayment.create(
          { url: resourceServer, accessToken },
          {
            walletAddress: id,
            incomingAmount: {
              value: request.amount.toString(),
              assetCode: request.asset.code,
              assetScale: request.asset.scale,
            },
            expiresAt: request.expiresAt.toISOString(),
            metadata: request.metadata,
          },
        ),
      );
    },
    get: (url) => authorized((op, accessToken) => op.incomingPayment.get({ url, accessToken })),
    complete: (url) => authorized((op, accessToken) => op.incomingPayment.complete({ url, accessToken })),
    async grant() {
      await accessToken();
    },
  };
}

/** A failed promise is not kept: the next call tries again. */
function forget(reset: () => void) {
  return (error: unknown): never => {
    reset();
    throw error;
  };
}
