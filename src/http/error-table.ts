import Boom from '@hapi/boom';
import { CodiusError, type ErrorCode, type ErrorDetails, type KeptCredit } from '../domain/errors.js';

/** How one error is answered over HTTP. */
export interface HttpAnswer {
  status: number;
  /** The `message` of the JSON error body: the text Codius clients match on where one exists. */
  message: string;
  headers?: Record<string, string>;
  /** Fields added to the JSON error body beside statusCode, error and message. */
  extra?: Record<string, unknown>;
}

type Rule<C extends ErrorCode> = (details: ErrorDetails[C]) => HttpAnswer;

/** `2283106 (XRP, scale 9)`. */
const credit = (kept: KeptCredit): string =>
  `${kept.amount.toString()} (${kept.assetCode}, scale ${kept.assetScale})`;

/** The sentence a failed start adds when the request's money was kept as credit. */
const keptForNextUpload = (kept: KeptCredit | undefined): string =>
  kept ? ` The ${credit(kept)} paid is kept as credit for this manifest and used by its next upload.` : '';

const INVALID_PAYLOAD = 'Invalid request payload input';
const PAYMENTS_DOWN = 'This host cannot take payments right now';

/**
 * Every error code, its status and its wire text. Texts Codius hosts have always sent are kept byte for
 * byte (clients and scripts match on them); newer codes say what to do.
 */
export const HTTP_ERRORS: { [C in ErrorCode]: Rule<C> } = {
  invalid_payload: ({ validation }) => ({
    status: 400,
    message: INVALID_PAYLOAD,
    ...(validation ? { extra: { validation } } : {}),
  }),
  invalid_duration: ({ maxSeconds, got }) => ({
    status: 400,
    message: `duration must be a whole number of seconds from 1 to ${maxSeconds}; got ${got}`,
  }),
  manifest_hash_missing: () => ({ status: 422, message: 'manifestHash must be specified' }),
  manifest_hash_malformed: () => ({
    status: 400,
    message: 'manifestHash must be a 52-character base32 manifest hash',
  }),
  var_not_declared: ({ variable, varsJson }) => ({
    status: 422,
    message: `could not interpolate var. var=${variable} manifest.vars=${varsJson}`,
  }),
  var_encoding_unknown: ({ declaredJson }) => ({
    status: 422,
    message: `unknown var encoding. var=${declaredJson}`,
  }),
  private_var_missing: ({ variable, varsJson }) => ({
    status: 422,
    message: `could not interpolate private var. var=${variable} manifest.vars=${varsJson}`,
  }),
  private_var_mismatch: ({ variable, publicHash, hashedValue }) => ({
    status: 422,
    message: `private var does not match hash. var=${variable} encoding=private:sha256 public-hash=${publicHash} hashed-value=${hashedValue}`,
  }),
  env_reserved: ({ name }) => ({
    status: 422,
    message: `environment variables starting in "CODIUS" are reserved. var=${name}`,
  }),
  host_full: ({ keptCredit }) => ({
    status: 503,
    message: `Memory usage exceeded. Send pod request later.${keptForNextUpload(keptCredit)}`,
  }),
  runtime_not_ready: () => ({
    status: 503,
    message: 'This host cannot run pods right now: its container runtime is not ready.',
  }),
  payments_not_connected: () => ({
    status: 503,
    message: `${PAYMENTS_DOWN}: not connected to its ILP provider (moneyd).`,
  }),
  payments_unavailable: ({ problem }) => ({
    status: 503,
    message: `${PAYMENTS_DOWN}: not connected to the ILP provider (moneyd)${problem ? `: ${problem}` : ''}.`,
  }),
  pay_token_missing: () => ({ status: 400, message: 'must supply `Pay-Token` header.' }),
  pay_token_malformed: () => ({ status: 400, message: '`Pay-Token` must be 16 bytes base64.' }),
  pay_token_used: () => ({
    status: 400,
    message: '`Pay-Token` was already used to pay for a request; send a new one.',
  }),
  // Every method's offer: STREAM's `Pay` header, Open Payments' incoming payment in the body.
  payment_required: ({ offers }) => ({
    status: 402,
    message: 'Payment Required',
    headers: Object.assign({}, ...offers.map((offer) => offer.headers ?? {})) as Record<string, string>,
    extra: Object.assign({}, ...offers.map((offer) => offer.body ?? {})) as Record<string, unknown>,
  }),
  payment_timeout: () => ({ status: 402, message: 'Failed to get payment before timeout' }),
  too_many_pending_payments: () => ({
    status: 503,
    message: 'Too many payments in progress; try again shortly.',
    headers: { 'Retry-After': '5' },
  }),
  too_many_client_payments: ({ limit, retryAfterSeconds }) => ({
    status: 429,
    message: `This client has ${limit} payments waiting already; pay for those or wait for them to expire.`,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  }),
  pod_not_found: ({ hash, keptCredit }) => ({
    status: 404,
    message:
      `no pod found with id. id=${hash}` +
      (keptCredit
        ? ` (it expired during payment; ${credit(keptCredit)} is kept as credit for this manifest)`
        : ''),
  }),
  manifest_not_found: ({ hash }) => ({ status: 404, message: `No manifest with hash of "${hash}"` }),
  image_unavailable: ({ image, reason, keptCredit }) => ({
    status: 422,
    message: `image ${image} is not available: ${reason}.${keptForNextUpload(keptCredit)}`,
  }),
  pod_start_failed: ({ hash, reason, keptCredit }) => ({
    status: 503,
    message: `pod could not be started. manifestHash=${hash}.${reason ? ` ${reason}.` : ''}${keptForNextUpload(keptCredit)}`,
  }),
  start_cooling_down: ({ hash, retryAfterSeconds }) => ({
    status: 429,
    message: `the pod of manifest ${hash} failed to start or crashed repeatedly; try again in ${retryAfterSeconds} s`,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  }),
  too_many_containers: ({ count, max }) => ({
    status: 400,
    message: `a manifest may have at most ${max} containers on this host; this one has ${count}`,
  }),
  registry_not_allowed: ({ image, registry, reason }) => ({
    status: 422,
    message: `image ${image} cannot be pulled on this host: its registry ${registry} ${reason}`,
  }),
  image_reference_invalid: ({ image, reason }) => ({
    status: 422,
    message: `image ${image} cannot run on this host: ${reason}`,
  }),
  too_many_log_followers: ({ hash, limit, scope }) => ({
    status: 429,
    message:
      scope === 'pod'
        ? `pod ${hash} already has ${limit} log followers; try again later`
        : `this host already serves ${limit} log followers; try again later`,
    headers: { 'Retry-After': '10' },
  }),
  logs_pod_not_found: ({ hash }) => ({ status: 404, message: `no pod found with this id. id=${hash}` }),
  logs_not_allowed: ({ hash }) => ({
    status: 403,
    message: `pod manifest does not allow debugging. id=${hash}`,
  }),
  logs_pod_stopped: ({ hash }) => ({ status: 503, message: `pod has stopped. manifestHash=${hash}` }),
  // No basic-auth challenge: a browser would keep the password and send it with other sites' requests.
  admin_unauthorized: () => ({
    status: 401,
    message:
      'The admin API needs the admin token: Authorization: Bearer <token> (CODIUS_ADMIN_TOKEN, else the admin-token file in CODIUS_ROOT)',
  }),
  admin_host_refused: ({ host }) => ({
    status: 421,
    message: `this admin listener answers only to its own addresses, localhost and CODIUS_ADMIN_HOSTS, not ${JSON.stringify(host)}`,
  }),
  admin_cross_site: () => ({
    status: 403,
    message: 'the admin API takes changes only from its own pages and from programs, not from other sites',
  }),
  admin_needs_json: () => ({
    status: 415,
    message: 'changes to the admin API are JSON: send Content-Type: application/json',
  }),
  admin_pod_id_missing: () => ({ status: 400, message: 'missing manifestHash' }),
  admin_config_invalid: ({ reason }) => ({
    status: 400,
    message: 'Invalid request payload',
    extra: { reason },
  }),
  checkout_unavailable: () => ({
    status: 503,
    message:
      'This host takes no Open Payments right now, so it cannot be paid from a web page; use the Codius CLI.',
  }),
  checkout_form_invalid: ({ field, reason }) => ({ status: 400, message: `${field}: ${reason}` }),
  checkout_cross_site: () => ({
    status: 403,
    message: 'a checkout starts only from this host’s own page, not from another site',
  }),
  checkout_wallet_refused: ({ wallet, reason }) => ({
    status: 422,
    message: `The wallet address ${wallet} cannot be used: ${reason}. Nothing was paid.`,
  }),
  checkout_wallet_unreachable: ({ wallet, reason }) => ({
    status: 422,
    message: `No Open Payments wallet answered at ${wallet} (${reason}). Check the address; nothing was paid.`,
  }),
  checkout_unknown: () => ({
    status: 404,
    message:
      'This checkout is unknown or over: each one can be finished once, within 15 minutes. Nothing more was paid through it; start again.',
  }),
  checkout_refused: () => ({
    status: 403,
    message: 'The payment was not approved at your wallet. Nothing was paid.',
  }),
  checkout_unverified: () => ({
    status: 400,
    message: 'Your wallet’s answer could not be verified (its hash does not match). Nothing was paid.',
  }),
  checkout_price_changed: ({ approved, now }) => ({
    status: 409,
    message: `The amount changed while you approved (approved ${approved}, now ${now}). Nothing was paid; start again to approve the new amount.`,
  }),
  checkout_payment_failed: ({ reason }) => ({
    status: 402,
    message: `Your wallet did not send the payment: ${reason}. Nothing was booked; check your balance and start again.`,
  }),
  renewal_unknown: () => ({
    status: 404,
    message: 'No renewal has this link. Check that you copied all of it.',
  }),
  too_many_checkouts: ({ retryAfterSeconds }) => ({
    status: 503,
    message: 'Too many checkouts are waiting for consent; try again shortly.',
    headers: { 'Retry-After': String(retryAfterSeconds) },
  }),
};

/** How `error` is answered. */
export function httpAnswerOf(error: CodiusError): HttpAnswer {
  const rule = HTTP_ERRORS[error.code] as Rule<ErrorCode>;
  return rule(error.details);
}

/** The answer as a Boom error, which hapi renders as the usual JSON error body. */
export function toBoom(error: CodiusError): Boom.Boom {
  const answer = httpAnswerOf(error);
  const boom = new Boom.Boom(answer.message, { statusCode: answer.status });
  Object.assign(boom.output.headers, answer.headers ?? {});
  if (answer.extra) Object.assign(boom.output.payload, answer.extra);
  return boom;
}
