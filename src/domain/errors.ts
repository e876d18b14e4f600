import type { PaymentOffer } from './types.js';

/**
 * The catalogue of errors a client of codiusd can be told about. Each carries a code and the facts the
 * answer needs, never an HTTP status or wire text: `http/error-table.ts` maps every code to its status
 * and the exact message clients expect. Modules below HTTP throw these; nothing else crosses
 * into a response.
 */

/** Why a field of a request failed validation, for people; sent beside the fixed message. */
export interface ValidationDetail {
  source: 'payload' | 'query';
  /** Path of the offending field, e.g. ["manifest", "containers", "0", "image"]. */
  keys: string[];
  reason: string;
}

/** Money of a request that bought nothing and is now the manifest's credit (base units of `asset`). */
export interface KeptCredit {
  amount: bigint;
  assetCode: string;
  assetScale: number;
}

/** The facts each code carries, by code. */
export interface ErrorDetails {
  // Request bodies and queries.
  invalid_payload: { validation?: ValidationDetail };
  invalid_duration: { maxSeconds: number; got: string };
  manifest_hash_missing: Record<string, never>;
  manifest_hash_malformed: Record<string, never>;
  // Manifest variables (422, with the texts clients match on).
  var_not_declared: { variable: string; varsJson: string };
  var_encoding_unknown: { declaredJson: string };
  private_var_missing: { variable: string; varsJson: string };
  private_var_mismatch: { variable: string; publicHash: string; hashedValue: string };
  env_reserved: { name: string };
  // Host state.
  host_full: { keptCredit?: KeptCredit };
  runtime_not_ready: Record<string, never>;
  payments_not_connected: Record<string, never>;
  payments_unavailable: { problem: string | null };
  // The payment handshake.
  pay_token_missing: Record<string, never>;
  pay_token_malformed: Record<string, never>;
  pay_token_used: Record<string, never>;
  payment_required: { offers: PaymentOffer[] };
  payment_timeout: Record<string, never>;
  too_many_pending_payments: { limit: number };
  too_many_client_payments: { limit: number; retryAfterSeconds: number };
  // Pods.
  pod_not_found: { hash: string; keptCredit?: KeptCredit };
  manifest_not_found: { hash: string };
  image_unavailable: { hash: string; image: string; reason: string; keptCredit?: KeptCredit };
  pod_start_failed: { hash: string; reason?: string; keptCredit?: KeptCredit };
  start_cooling_down: { hash: string; retryAfterSeconds: number };
  too_many_containers: { count: number; max: number };
  registry_not_allowed: { image: string; registry: string; reason: string };
  image_reference_invalid: { image: string; reason: string };
  too_many_log_followers: { hash: string; limit: number; scope: 'pod' | 'host' };
  logs_pod_not_found: { hash: string };
  logs_not_allowed: { hash: string };
  logs_pod_stopped: { hash: string };
  // The admin listener.
  admin_unauthorized: Record<string, never>;
  admin_host_refused: { host: string };
  admin_cross_site: Record<string, never>;
  admin_needs_json: Record<string, never>;
  admin_pod_id_missing: Record<string, never>;
  admin_config_invalid: { reason: string };
  // The web checkout (paying from the tenant's Open Payments wallet).
  checkout_unavailable: Record<string, never>;
  checkout_form_invalid: { field: string; reason: string };
  checkout_cross_site: Record<string, never>;
  checkout_wallet_refused: { wallet: string; reason: string };
  checkout_wallet_unreachable: { wallet: string; reason: string };
  checkout_unknown: Record<string, never>;
  checkout_refused: Record<string, never>;
  checkout_unverified: Record<string, never>;
  checkout_price_changed: { approved: string; now: string };
  checkout_payment_failed: { reason: string };
  too_many_checkouts: { retryAfterSeconds: number };
  renewal_unknown: Record<string, never>;
}

export type ErrorCode = keyof ErrorDetails;

/** Codes whose details may say what of the request's money is kept as credit. */
export type CreditBearingCode = 'pod_not_found' | 'image_unavailable' | 'pod_start_failed';

/** Details rendered for logs: bigints as strings, so JSON can carry them. */
function describe(code: ErrorCode, details: object): string {
  const shown = JSON.stringify(details, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  return shown === '{}' ? code : `${code} ${shown}`;
}

export class CodiusError<C extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly code: C,
    readonly details: ErrorDetails[C],
    options?: ErrorOptions,
  ) {
    super(describe(code, details), options);
    this.name = 'CodiusError';
  }

  /** The same error with more facts (the cause is kept). */
  with(more: Partial<ErrorDetails[C]>): CodiusError<C> {
    return new CodiusError(this.code, { ...this.details, ...more }, { cause: this.cause });
  }
}

/** Narrows `error` to a CodiusError, of one of `codes` when given. */
export function isCodiusError<C extends ErrorCode>(error: unknown, ...codes: C[]): error is CodiusError<C> {
  return error instanceof CodiusError && (codes.length === 0 || codes.includes(error.code as C));
}

/** Shorthand for codes that carry no details. */
export function codiusError<C extends ErrorCode>(
  code: C,
  ...details: ErrorDetails[C] extends Record<string, never> ? [] : [ErrorDetails[C]]
): CodiusError<C> {
  return new CodiusError(code, (details[0] ?? {}) as ErrorDetails[C]);
}
