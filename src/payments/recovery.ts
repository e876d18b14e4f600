import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';

export interface RecoveredPayment {
  manifestHash: string;
  assetCode: string;
  assetScale: number;
  amount: bigint;
}

/**
 * At start, before any payment is taken: money that packets brought in (written before their
 * fulfillment) but that no ledger line booked, because codiusd stopped mid-payment, becomes the
 * manifest's credit, one `recovered` line per payment. A payment whose line was written just before the
 * crash only has its leftover rows removed. Returns what was recovered.
 */
export async function recoverUnbookedPayments(
  store: Pick<Store, 'paymentPackets' | 'transaction'>,
  logger: Logger,
): Promise<RecoveredPayment[]> {
  const recovered: RecoveredPayment[] = [];
  for (const payment of await store.paymentPackets.unbooked()) {
    await store.transaction(async (repos) => {
      if (await repos.ledger.booksPayment(payment.payTokenHash)) {
        await repos.paymentPackets.settle(payment.payTokenHash);
        return;
      }
      // The line settles the rows (same transaction).
      await repos.ledger.append({
        manifestHash: payment.manifestHash,
        amount: payment.amount.toString(),
        credit: payment.amount.toString(),
        assetCode: payment.asset.code,
        assetScale: payment.asset.scale,
        purpose: 'recovered',
        payTokenHash: payment.payTokenHash,
        method: 'stream',
        paymentRef: null,
      });
      recovered.push({
        manifestHash: payment.manifestHash,
        assetCode: payment.asset.code,
        assetScale: payment.asset.scale,
        amount: payment.amount,
      });
    });
  }
  for (const payment of recovered) {
    logger.warn(
      { hash: payment.manifestHash, amount: payment.amount.toString(), asset: payment.assetCode },
      'recovered a payment interrupted by a stop: kept as the manifest credit',
    );
  }
  return recovered;
}
