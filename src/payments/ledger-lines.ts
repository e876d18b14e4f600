import type { LedgerPurpose, ManifestHash, Payment } from '../domain/types.js';
import type { NewLedgerEntry } from '../store/repositories/ledger.js';

function line(
  hash: ManifestHash,
  payment: Payment,
  purpose: LedgerPurpose,
  amount: bigint,
  credit: bigint,
): NewLedgerEntry {
  return {
    manifestHash: hash,
    amount: amount.toString(),
    credit: credit.toString(),
    assetCode: payment.asset.code,
    assetScale: payment.asset.scale,
    purpose,
    payTokenHash: payment.payTokenHash,
    method: payment.method,
    // A reference names money: a line moving none carries it only for reading.
    paymentRef: payment.ref,
  };
}

/**
 * A payment that bought time: the money received, the credit it spent, and what it paid beyond the
 * price (an overpaid incoming payment) as new credit.
 */
export function paidLine(hash: ManifestHash, payment: Payment, purpose: 'upload' | 'extend'): NewLedgerEntry {
  return line(hash, payment, purpose, payment.received, payment.received - payment.due - payment.creditUsed);
}

/**
 * A payment that bought nothing becomes credit. If its `paidLine` was already committed (the money and the
 * spent credit are booked), the price comes back as credit; if not, this line books the money itself.
 */
export function unservedLine(
  hash: ManifestHash,
  payment: Payment,
  paidLineCommitted: boolean,
): NewLedgerEntry {
  return paidLineCommitted
    ? line(hash, payment, 'unserved', 0n, payment.due + payment.creditUsed)
    : line(hash, payment, 'unserved', payment.received, payment.received);
}

/** Money that arrived short of the price before the timeout: kept as the manifest's credit. */
export function shortfallLine(hash: ManifestHash, payment: Payment): NewLedgerEntry {
  return line(hash, payment, 'shortfall', payment.received, payment.received);
}

/** Whether a payment moved any money or credit (free requests write no line). */
export function isWorthBooking(payment: Payment): boolean {
  return payment.received > 0n || payment.creditUsed > 0n;
}
