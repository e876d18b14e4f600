import type { Logger } from '../logger.js';
import type { KeyValueRepository } from '../store/repositories/kv.js';

/** The kv key of a price set through the admin API. */
export const PRICE_OVERRIDE_KEY = 'admin.costPerMonth';

/** The host's price per month, as configured or as the operator last set it through the admin API. */
export interface PriceSetting {
  /** Whole units of the host asset per 2,628,000 s, exact decimal. */
  current(): string;
  /** Where the current price comes from. */
  source(): 'configuration' | 'admin';
  /** Sets and keeps the price (it survives restarts). */
  set(costPerMonth: string): Promise<void>;
}

interface StoredOverride {
  value: string;
  /** The configured price when the override was set: a later change of the configuration wins. */
  configured: string;
}

function parseOverride(text: string | undefined): StoredOverride | null {
  if (text === undefined) return null;
  try {
    const parsed = JSON.parse(text) as Partial<StoredOverride>;
    return typeof parsed.value === 'string' && typeof parsed.configured === 'string'
      ? { value: parsed.value, configured: parsed.configured }
      : null;
  } catch {
    return null;
  }
}

/**
 * Loads the price: an override set through the admin API is kept while the configured price is the one it
 * replaced. When the operator has changed CODIUS_COST_PER_MONTH since, the configuration is the newer
 * decision and the override is dropped (logged).
 */
export async function loadPriceSetting(
  kv: KeyValueRepository,
  configured: string,
  logger: Logger,
): Promise<PriceSetting> {
  const stored = parseOverride(await kv.get(PRICE_OVERRIDE_KEY));
  let override: string | null = null;
  if (stored && stored.configured === configured) {
    override = stored.value;
    logger.info({ costPerMonth: override }, 'price per month as set through the admin API');
  } else if (stored) {
    await kv.delete(PRICE_OVERRIDE_KEY);
    logger.warn(
      { was: stored.value, configured },
      'CODIUS_COST_PER_MONTH changed since the price was set through the admin API: using the configuration',
    );
  }
  return {
    current: () => override ?? configured,
    source: () => (override === null ? 'configuration' : 'admin'),
    async set(costPerMonth) {
      await kv.set(PRICE_OVERRIDE_KEY, JSON.stringify({ value: costPerMonth, configured }));
      override = costPerMonth;
    },
  };
}

/** A JSON number as the exact decimal text prices use ("1e-7" → "0.0000001"); null for a negative or non-finite one. */
export function decimalText(value: number): string | null {
  if (!Number.isFinite(value) || value < 0) return null;
  const plain = String(value);
  if (!/e/i.test(plain)) return plain;
  const fixed = value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
  return fixed === '' ? '0' : fixed;
}
