import type { HostAsset } from '../../domain/types.js';
import type { PaymentReceiver } from '../receiver.js';
import type { PaymentMethod } from './method.js';

export interface StreamMethodOptions {
  receiver: PaymentReceiver;
  /** The provider's asset while the ILP link is up. */
  asset: () => HostAsset | null;
  costPerMonth: () => string;
  /** How long a payer's money may take to arrive. */
  timeoutMs: number;
  /** Books what packets brought in that no line booked (a stop mid-payment). */
  recover: () => Promise<unknown>;
}

/**
 * Interledger STREAM through the host's ILP provider (moneyd), with the HTTP-ILP handshake of the Codius
 * CLI: a 402 carries `Pay: interledger-stream <address> <secret>`, the payer opens that STREAM connection
 * and retries the request, which claims the stream and collects the amount.
 */
export function createStreamMethod(options: StreamMethodOptions): PaymentMethod {
  const { receiver } = options;
  return {
    name: 'stream',
    asset: options.asset,
    costPerMonth: options.costPerMonth,
    async recover() {
      await options.recover();
    },
    claim(token) {
      const stream = receiver.claim(token);
      const asset = options.asset();
      if (!stream || !asset) return Promise.resolve(undefined);
      return Promise.resolve({
        method: 'stream',
        asset,
        async collect(amount, purpose) {
          const payment = {
            payTokenHash: purpose.payTokenHash,
            manifestHash: purpose.hash,
            asset: purpose.asset,
          };
          const collected = await stream.collect(amount, options.timeoutMs, payment, purpose.admit);
          return { ...collected, ref: null };
        },
        finish: () => stream.finish(),
      });
    },
    offer({ token, client }) {
      return Promise.resolve({ headers: { Pay: receiver.challenge(token, client) } });
    },
  };
}
