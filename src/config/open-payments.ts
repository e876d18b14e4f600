import { ConfigError, numberOf, readString, type Env } from './read.js';

export interface OpenPaymentsSettings {
  walletAddress: string;
  keyId: string;
  privateKeyPath: string;
  /** In whole units of the wallet's asset; null: CODIUS_COST_PER_MONTH, when the assets agree. */
  costPerMonth: string | null;
  /** How long an offered incoming payment can be paid. */
  offerTtlMs: number;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The Open Payments settings: all three of wallet, key id and key, or none; https unless on loopback in dev. */
export function readOpenPayments(env: Env, dev: boolean): OpenPaymentsSettings | null {
  const walletAddress = readString(env, 'CODIUS_OPEN_PAYMENTS_WALLET');
  const keyId = readString(env, 'CODIUS_OPEN_PAYMENTS_KEY_ID');
  const privateKeyPath = readString(env, 'CODIUS_OPEN_PAYMENTS_PRIVATE_KEY');
  if (walletAddress === undefined && keyId === undefined && privateKeyPath === undefined) return null;
  if (walletAddress === undefined || keyId === undefined || privateKeyPath === undefined) {
    const missing =
      walletAddress === undefined
        ? 'CODIUS_OPEN_PAYMENTS_WALLET'
        : keyId === undefined
          ? 'CODIUS_OPEN_PAYMENTS_KEY_ID'
          : 'CODIUS_OPEN_PAYMENTS_PRIVATE_KEY';
    throw new ConfigError(
      missing,
      `${missing} must be set with the other CODIUS_OPEN_PAYMENTS_ variables (wallet, key id, private key)`,
    );
  }
  const url = new URL(walletAddress);
  if (url.protocol !== 'https:' && !(dev && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new ConfigError(
      'CODIUS_OPEN_PAYMENTS_WALLET',
      `CODIUS_OPEN_PAYMENTS_WALLET must be an https:// wallet address (http:// only on loopback with CODIUS_DEV=true); got ${url.protocol}//${url.host}`,
    );
  }
  return {
    walletAddress,
    keyId,
    privateKeyPath,
    costPerMonth: readString(env, 'CODIUS_OPEN_PAYMENTS_COST_PER_MONTH') ?? null,
    offerTtlMs: numberOf(env, 'CODIUS_OPEN_PAYMENTS_OFFER_TTL') * 1000,
  };
}
