import type { AssetAccount, HostAsset } from '../domain/types.js';
import type { LedgerMovement, MethodReceipts } from '../store/repositories/ledger.js';
import { wholeUnits } from '../payments/price.js';

/**
 * One asset code's figures in base units of `assetScale`; received = earned + credit always, and the
 * received of its methods sum to received.
 */
export interface MoneyFigures {
  assetScale: number;
  received: string;
  earned: string;
  credit: string;
  /** Received per payment method. */
  methods: Record<string, string>;
}

interface Exact {
  scale: number;
  received: bigint;
  earned: bigint;
  credit: bigint;
}

const rescale = (amount: bigint, from: number, to: number): bigint => amount * 10n ** BigInt(to - from);

/**
 * The ledger's accounts per asset code, with what each payment method brought. A code booked at several
 * scales (a provider that changed its scale) is shown at the finest one, exactly. The assets the host
 * takes now are always present.
 */
export function moneyByAssetCode(
  accounts: readonly AssetAccount[],
  current: readonly HostAsset[],
  receipts: readonly MethodReceipts[] = [],
): Record<string, MoneyFigures> {
  const byCode = new Map<string, Exact>();
  for (const asset of current) {
    const known = byCode.get(asset.code);
    if (!known || known.scale < asset.scale) {
      byCode.set(asset.code, { scale: asset.scale, received: 0n, earned: 0n, credit: 0n });
    }
  }
  for (const account of accounts) {
    const known = byCode.get(account.assetCode);
    const scale = Math.max(known?.scale ?? 0, account.assetScale);
    const base = known ?? { scale, received: 0n, earned: 0n, credit: 0n };
    byCode.set(account.assetCode, {
      scale,
      received:
        rescale(base.received, base.scale, scale) + rescale(account.received, account.assetScale, scale),
      earned: rescale(base.earned, base.scale, scale) + rescale(account.earned, account.assetScale, scale),
      credit:
        rescale(base.credit, base.scale, scale) +
        rescale(account.outstandingCredit, account.assetScale, scale),
    });
  }
  const figures: Record<string, MoneyFigures> = {};
  for (const [code, exact] of byCode) {
    figures[code] = {
      assetScale: exact.scale,
      received: exact.received.toString(),
      earned: exact.earned.toString(),
      credit: exact.credit.toString(),
      methods: receivedPerMethod(receipts, code, exact.scale),
    };
  }
  return figures;
}

/** One code's receipts per method at `scale` (the finest its accounts were booked at). */
function receivedPerMethod(
  receipts: readonly MethodReceipts[],
  code: string,
  scale: number,
): Record<string, string> {
  const sums = new Map<string, bigint>();
  for (const receipt of receipts) {
    if (receipt.assetCode !== code) continue;
    const amount = rescale(receipt.received, receipt.assetScale, Math.max(scale, receipt.assetScale));
    sums.set(receipt.method, (sums.get(receipt.method) ?? 0n) + amount);
  }
  return Object.fromEntries([...sums].map(([method, amount]) => [method, amount.toString()]));
}

/** `aggregate_earnings` of the legacy admin route: earned per asset code in whole units, the current codes always present. */
export function earningsInWholeUnits(
  accounts: readonly AssetAccount[],
  current: readonly HostAsset[],
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [code, figures] of Object.entries(moneyByAssetCode(accounts, current))) {
    result[code] = wholeUnits(BigInt(figures.earned), figures.assetScale);
  }
  return result;
}

export interface EarningsBucket {
  /** Start of the bucket, ms since the epoch. */
  at: number;
  /** Per asset code, base units at the code's scale in `scales`. */
  earned: Record<string, string>;
  received: Record<string, string>;
}

/**
 * Ledger movements summed into fixed buckets from `since` to `until` (every bucket present, empty ones
 * with zeros), each code at the scale `scales` gives it.
 */
export function earningsOverTime(
  movements: readonly LedgerMovement[],
  options: { since: number; until: number; bucketMs: number; scales: Record<string, number> },
): EarningsBucket[] {
  const { since, until, bucketMs, scales } = options;
  const count = Math.max(1, Math.ceil((until - since) / bucketMs));
  const sums = Array.from({ length: count }, () => new Map<string, { earned: bigint; received: bigint }>());
  for (const movement of movements) {
    const index = Math.floor((movement.at - since) / bucketMs);
    const bucket = sums[index];
    if (!bucket) continue;
    const scale = scales[movement.assetCode] ?? movement.assetScale;
    const sum = bucket.get(movement.assetCode) ?? { earned: 0n, received: 0n };
    sum.earned += rescale(movement.earned, movement.assetScale, Math.max(scale, movement.assetScale));
    sum.received += rescale(movement.received, movement.assetScale, Math.max(scale, movement.assetScale));
    bucket.set(movement.assetCode, sum);
  }
  return sums.map((bucket, index) => {
    const earned: Record<string, string> = {};
    const received: Record<string, string> = {};
    for (const code of Object.keys(scales)) {
      earned[code] = (bucket.get(code)?.earned ?? 0n).toString();
      received[code] = (bucket.get(code)?.received ?? 0n).toString();
    }
    return { at: since + index * bucketMs, earned, received };
  });
}
