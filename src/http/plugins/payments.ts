import type { Plugin, Request } from '@hapi/hapi';
import { CodiusError, codiusError } from '../../domain/errors.js';
import type { PaymentCollector } from '../../payments/billing.js';
import { parsePayToken, payTokenHash } from '../../payments/pay-token.js';
import type { PaymentReceiver, PaymentStream } from '../../payments/receiver.js';

declare module '@hapi/hapi' {
  interface Request {
    /**
     * The HTTP-ILP handshake for this request, as a payment collector: the `Pay-Token` header is read
     * (400 when missing or malformed), a payer without a stream yet gets 402 with a `Pay` header, and a
     * payer with one has the amount collected within the payment timeout.
     */
    payments(): PaymentCollector;
  }
  interface PluginsStates {
    payments?: { stream: PaymentStream };
  }
}

export interface PaymentsPluginOptions {
  receiver: PaymentReceiver;
  timeoutMs: number;
  /** Who a request comes from (for the receiver's per-client limit). */
  clientOf?: (peer: string | undefined, forwardedFor: string | string[] | undefined) => string;
}

/**
 * The HTTP side of payments as a hapi plugin: decorates requests with a collector over the Pay-Token
 * handshake, and ends each payer's stream once its response has gone out (or the client went away).
 * What the money is booked as is the billing service's business, not this plugin's.
 */
export const paymentsPlugin: Plugin<PaymentsPluginOptions> = {
  name: 'codiusd-payments',
  register(server, options) {
    const { receiver } = options;

    function payments(this: Request): PaymentCollector {
      return {
        collect: async (amount, purpose) => {
          const parsed = parsePayToken(this.headers['pay-token'] as string | string[] | undefined);
          if (!parsed.ok) {
            throw codiusError(parsed.reason === 'missing' ? 'pay_token_missing' : 'pay_token_malformed');
          }
          const stream = receiver.claim(parsed.token);
          if (!stream) {
            const client = options.clientOf?.(
              this.info.remoteAddress,
              this.headers['x-forwarded-for'] as string | string[] | undefined,
            );
            throw new CodiusError('payment_required', {
              payHeader: receiver.challenge(parsed.token, client),
            });
          }
          this.plugins.payments = { stream };
          const payment = purpose && {
            payTokenHash: payTokenHash(parsed.token),
            manifestHash: purpose.hash,
            asset: purpose.asset,
          };
          const { received, complete, refused } = await stream.collect(
            amount,
            options.timeoutMs,
            payment,
            purpose?.admit,
          );
          return { received, complete, refused, payToken: parsed.token };
        },
      };
    }

    server.decorate('request', 'payments', payments);
    server.events.on('response', (request) => {
      request.plugins.payments?.stream.finish();
    });
  },
};
