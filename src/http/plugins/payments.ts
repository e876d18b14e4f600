import type { Plugin, Request } from '@hapi/hapi';
import { codiusError } from '../../domain/errors.js';
import type { PaymentAttempt } from '../../payments/billing.js';
import { parsePayToken } from '../../payments/pay-token.js';

declare module '@hapi/hapi' {
  interface Request {
    /**
     * The payment side of this request: its `Pay-Token` (400 when missing or malformed, once one is
     * needed), who sends it, and what to release once the response has gone out.
     */
    paymentAttempt(): PaymentAttempt;
  }
  interface PluginsStates {
    payments?: { afterResponse: Array<() => void> };
  }
}

export interface PaymentsPluginOptions {
  /** Who a request comes from (for per-client limits of the payment methods). */
  clientOf?: (peer: string | undefined, forwardedFor: string | string[] | undefined) => string;
}

/**
 * The HTTP side of payments as a hapi plugin: decorates requests with their payment attempt, and once a
 * response has gone out (or the client went away) releases what the payment methods hold for it, such as
 * a payer's STREAM connection. What a payment is booked as is the billing service's business.
 */
export const paymentsPlugin: Plugin<PaymentsPluginOptions> = {
  name: 'codiusd-payments',
  register(server, options) {
    function paymentAttempt(this: Request): PaymentAttempt {
      const header = this.headers['pay-token'] as string | string[] | undefined;
      const client =
        options.clientOf?.(
          this.info.remoteAddress,
          this.headers['x-forwarded-for'] as string | string[] | undefined,
        ) ?? 'unknown';
      return {
        hasToken: () => header !== undefined,
        token: () => {
          const parsed = parsePayToken(header);
          if (!parsed.ok) {
            throw codiusError(parsed.reason === 'missing' ? 'pay_token_missing' : 'pay_token_malformed');
          }
          return parsed.token;
        },
        client,
        afterResponse: (done) => {
          this.plugins.payments ??= { afterResponse: [] };
          this.plugins.payments.afterResponse.push(done);
        },
      };
    }

    server.decorate('request', 'paymentAttempt', paymentAttempt);
    server.events.on('response', (request) => {
      for (const done of request.plugins.payments?.afterResponse ?? []) done();
    });
  },
};
