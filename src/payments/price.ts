/** Seconds in a Codius "month" (30.4166… days, a twelfth of 365 days); prices are per this period. */
export const SECONDS_PER_MONTH = 2_628_000n;

/** A non-negative decimal such as "10" or "0.5" as an exact fraction. */
function parseDecimal(text: string): { numerator: bigint; denominator: bigint } {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new RangeError(`not a non-negative decimal number: ${JSON.stringify(text)}`);
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  return { numerator: BigInt(whole + fraction), denominator: 10n ** BigInt(fraction.length) };
}

/**
 * Price of `durationSeconds` of one pod, in base units of the host asset:
 * ceil(costPerMonth × 10^assetScale × duration / 2 628 000), computed exactly with integers.
 *
 * Rounding the per-second rate to 20 decimals first (as a bignumber implementation would) makes one
 * case of the golden vectors (10 per month, scale 6, 2 628 000 s) one unit dearer (10000001); exact
 * arithmetic gives 10000000 and agrees with every other case.
 */
export function priceFor(costPerMonth: string, assetScale: number, durationSeconds: number): bigint {
  if (!Number.isInteger(assetScale) || assetScale < 0 || assetScale > 255) {
    throw new RangeError(`asset scale must be an integer from 0 to 255; got ${assetScale}`);
  }
  if (!Number.isSafeInteger(durationSeconds) || durationSeconds < 0) {
    throw new RangeError(`duration must be a non-negative integer number of seconds; got ${durationSeconds}`);
  }
  const cost = parseDecimal(costPerMonth);
  const numerator = cost.numerator * 10n ** BigInt(assetScale) * BigInt(durationSeconds);
  const denominator = cost.denominator * SECONDS_PER_MONTH;
  return (numerator + denominator - 1n) / denominator;
}

/** Base units at `scale` as a decimal in whole units: (7612, 9) → "0.000007612", (5, 0) → "5". */
export function wholeUnits(amount: bigint, scale: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
