import { createHash } from 'node:crypto';
import Boom from '@hapi/boom';
import type { Plugin, Request } from '@hapi/hapi';
import type { HostAsset, ManifestHash, Payment } from '../../domain/types.js';
import { IlpUnavailableError } from '../../ilp/link.js';
import type { Logger } from '../../logger.js';
import { shortfallLine } from '../../payments/ledger-lines.js';
import { parsePayToken } from '../../payments/pay-token.js';
import {
  PayTokenUsedError,
  TooManyPendingPaymentsError,
  type PaymentReceiver,
  type PaymentStream,
} from '../../payments/receiver.js';
import type { NewLedgerEntry } from '../../store/repositories/ledger.js';

export interface PayOptions {
  asset: HostAsset;
  /** Whose credit a short payment becomes; null for requests that buy nothing (quotes). */
  manifestHash: ManifestHash | null;
  /** Credit already set aside for this request; reported back in the Payment. */
  creditUsed?: bigint;
  /** Run the handshake even for a zero amount (the paid quote of the later original). */
  handshake?: boolean;
}

declare module '@hapi/hapi' {
  interface Request {
    /**
     * Gets `amount` paid over ILP STREAM for this request (HTTP-ILP handshake). Throws a Boom 400 for a
     * missing or malformed `Pay-Token`, 402 with a `Pay` header when the payer has no stream yet, 402
     * `Failed to get payment before timeout` when the money did not arrive in time (what did arrive
     * becomes the manifest's credit), 503 when the host cannot take payments.
     */
    pay(amount: bigint, options: PayOptions): Promise<Payment>;
  }
  interface PluginsStates {
    payments?: { stream: PaymentStream };
  }
}

export interface PaymentsPluginOptions {
  receiver: PaymentReceiver;
  /** Appends one ledger line (short payments). */
  book(entry: NewLedgerEntry): Promise<unknown>;
  timeoutMs: number;
  logger: Logger;
}

/** sha256 of the pay token, the only form in which it is stored. */
export function payTokenHash(token: Buffer): string {
  return createHash('sha256').update(token).digest('hex');
}

function challengeError(error: unknown): Boom.Boom {
  if (error instanceof PayTokenUsedError) return Boom.badRequest(error.message);
  if (error instanceof TooManyPendingPaymentsError) {
    const boom = Boom.serverUnavailable('Too many payments in progress; try again shortly.');
    boom.output.headers['Retry-After'] = '5';
    return boom;
  }
  if (error instanceof IlpUnavailableError) {
    return Boom.serverUnavailable(`This host cannot take payments right now: ${error.message}.`);
  }
  throw error;
}

/**
 * The HTTP-ILP payment handshake as a hapi plugin: decorates requests with `pay()` and ends each payer's
 * stream once its response has gone out (or the client went away).
 */
export const paymentsPlugin: Plugin<PaymentsPluginOptions> = {
  name: 'codiusd-payments',
  register(server, options) {
    const { receiver, logger } = options;

    async function bookShortfall(hash: ManifestHash, payment: Payment): Promise<void> {
      try {
        await options.book(shortfallLine(hash, payment));
      } catch (error) {
        logger.error(
          { err: error, hash, received: payment.received.toString() },
          'could not book a short payment as credit; settle it by hand',
        );
      }
    }

    async function pay(this: Request, amount: bigint, payOptions: PayOptions): Promise<Payment> {
      const creditUsed = payOptions.creditUsed ?? 0n;
      const free: Payment = { asset: payOptions.asset, received: 0n, creditUsed, payTokenHash: null };
      if (amount <= 0n && payOptions.handshake !== true) return free;

      const parsed = parsePayToken(this.headers['pay-token'] as string | string[] | undefined);
      if (!parsed.ok) {
        throw Boom.badRequest(
          parsed.reason === 'missing'
            ? 'must supply `Pay-Token` header.'
            : '`Pay-Token` must be 16 bytes base64.',
        );
      }
      const stream = receiver.claim(parsed.token);
      if (!stream) {
        let header: string;
        try {
          header = receiver.challenge(parsed.token);
        } catch (error) {
          throw challengeError(error);
        }
        const boom = Boom.paymentRequired();
        boom.output.headers.Pay = header;
        throw boom;
      }
      this.plugins.payments = { stream };

      const { received, complete } = await stream.collect(amount, options.timeoutMs);
      const payment: Payment = { ...free, received, payTokenHash: payTokenHash(parsed.token) };
      if (complete) {
        logger.info(
          { hash: payOptions.manifestHash, received: received.toString(), asset: payOptions.asset.code },
          'payment received',
        );
        return payment;
      }
      // Short: nothing is bought and the reserved credit stays unspent; what arrived becomes credit.
      if (payOptions.manifestHash && received > 0n) {
        await bookShortfall(payOptions.manifestHash, { ...payment, creditUsed: 0n });
      }
      logger.info(
        { hash: payOptions.manifestHash, price: amount.toString(), received: received.toString() },
        'payment did not arrive in time',
      );
      throw Boom.paymentRequired('Failed to get payment before timeout');
    }

    server.decorate('request', 'pay', pay);
    server.events.on('response', (request) => {
      request.plugins.payments?.stream.finish();
    });
  },
};
