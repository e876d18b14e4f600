import { CodiusError } from '../domain/errors.js';
import { MANIFEST_HASH_PATTERN, parsePodRequest } from '../manifest/index.js';
import { parseDuration } from './routes/pods.js';
import type { CheckoutFields } from './checkout-page.js';
import type { CheckoutPod } from '../checkout/checkout-service.js';

/** What a checkout form asks for, read and checked. */
export interface CheckoutForm {
  pod: CheckoutPod;
  durationSeconds: number;
  walletAddress: string;
  /** Keep it running: renew from the wallet before each expiry. */
  renew: boolean;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The fields of a form body as strings (a missing or repeated field is empty). */
export function fieldsOf(body: unknown): CheckoutFields {
  const raw = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  return {
    manifest: text(raw.manifest),
    private: text(raw.private),
    duration: text(raw.duration),
    wallet: text(raw.wallet).trim(),
    extend: text(raw.extend).trim().toLowerCase(),
    renew: text(raw.renew) === 'on' ? 'on' : '',
  };
}

function parseJson(field: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new CodiusError('checkout_form_invalid', {
      field,
      reason: `not JSON (${error instanceof Error ? error.message : 'unreadable'})`,
    });
  }
}

/**
 * A wallet address URL; a payment pointer (`$wallet.example/alice`) is its https URL, as Open Payments
 * wallets print either.
 */
export function walletAddressOf(value: string): string {
  if (!value) throw new CodiusError('checkout_form_invalid', { field: 'wallet', reason: 'required' });
  const url = value.startsWith('$') ? `https://${value.slice(1)}` : value;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('not http(s)');
    if (!value.startsWith('$') || parsed.pathname !== '/') return parsed.href.replace(/\/$/, '');
    return `${parsed.origin}/.well-known/pay`;
  } catch {
    throw new CodiusError('checkout_form_invalid', {
      field: 'wallet',
      reason: 'a wallet address URL (https://…) or payment pointer ($…)',
    });
  }
}

/** The manifest field alone, or a file holding `{manifest, private}`; the private field adds its values. */
function podRequestOf(fields: CheckoutFields) {
  if (!fields.manifest.trim())
    throw new CodiusError('checkout_form_invalid', { field: 'manifest', reason: 'required' });
  const parsed = parseJson('manifest', fields.manifest);
  const wrapped =
    parsed !== null && typeof parsed === 'object' && 'manifest' in parsed
      ? (parsed as Record<string, unknown>)
      : { manifest: parsed };
  if (fields.private.trim()) wrapped.private = parseJson('private', fields.private);
  return parsePodRequest(wrapped);
}

/** What the form asks to run, and for how long (all but the wallet). */
export function parsePodFields(
  fields: CheckoutFields,
  maxDurationSeconds: number,
): Omit<CheckoutForm, 'walletAddress' | 'renew'> {
  let pod: CheckoutPod;
  if (fields.extend) {
    if (!MANIFEST_HASH_PATTERN.test(fields.extend))
      throw new CodiusError('checkout_form_invalid', { field: 'extend', reason: 'not a manifest hash' });
    pod = { kind: 'extend', hash: fields.extend };
  } else {
    pod = { kind: 'upload', request: podRequestOf(fields) };
  }
  return { pod, durationSeconds: parseDuration(fields.duration || undefined, maxDurationSeconds) };
}

/** Reads a submitted checkout form; every mistake is a coded error naming the field. */
export function parseCheckoutForm(fields: CheckoutFields, maxDurationSeconds: number): CheckoutForm {
  return {
    ...parsePodFields(fields, maxDurationSeconds),
    walletAddress: walletAddressOf(fields.wallet),
    renew: fields.renew === 'on',
  };
}

/** The fields that submit `form` again: what the page shows after a failure, so nothing is typed twice. */
export function fieldsFor(form: CheckoutForm): CheckoutFields {
  const { pod } = form;
  return {
    manifest: pod.kind === 'upload' ? JSON.stringify(pod.request.manifest, null, 2) : '',
    private: pod.kind === 'upload' && pod.request.private ? JSON.stringify(pod.request.private, null, 2) : '',
    duration: String(form.durationSeconds),
    wallet: form.walletAddress,
    extend: pod.kind === 'extend' ? pod.hash : '',
    renew: form.renew ? 'on' : '',
  };
}
