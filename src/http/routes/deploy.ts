import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import { CodiusError, isCodiusError } from '../../domain/errors.js';
import { MANIFEST_HASH_PATTERN } from '../../manifest/index.js';
import type { CheckoutService } from '../../checkout/checkout-service.js';
import { CHECKOUT_CSS, CHECKOUT_JS } from '../checkout-assets.js';
import { fieldsFor, fieldsOf, parseCheckoutForm, parsePodFields } from '../checkout-form.js';
import {
  EMPTY_FIELDS,
  renderCheckoutDone,
  renderCheckoutPage,
  renderCheckoutProblem,
  type CheckoutFields,
} from '../checkout-page.js';
import { httpAnswerOf } from '../error-table.js';

export interface DeployRouteOptions {
  publicUri: string;
  maxDurationSeconds: number;
  /** Development mode: a wallet's consent page may be plain http on loopback. */
  dev: boolean;
}

/**
 * A form post from another site's page, as the browser tells: by Sec-Fetch-Site where it sends one, else
 * by Origin (which is "null" for some same-origin posts, so it decides only when Sec-Fetch-Site is absent).
 */
export function crossSite(request: Request): boolean {
  const site: unknown = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin: unknown = request.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host.toLowerCase() !== String(request.headers.host).toLowerCase();
  } catch {
    return true;
  }
}

/** The checkout's forms are posted as forms (the rest of the API takes JSON only). */
const FORM = { payload: { allow: ['application/x-www-form-urlencoded'] } };

/** A page of the checkout: HTML under `policy`, never cached, never naming itself to other sites. */
export function htmlPage(h: ResponseToolkit, body: string, policy: string, status = 200) {
  return h
    .response(body)
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', policy)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'same-origin');
}

/** Without Open Payments there is no checkout: the page says so (503). */
function unavailable(host: string): ServerRoute {
  return {
    method: 'GET',
    path: '/deploy',
    handler: (_request, h) => {
      const answer = httpAnswerOf(new CodiusError('checkout_unavailable', {}));
      const policy = "default-src 'none'; style-src 'self'; frame-ancestors 'none'";
      return htmlPage(h, renderCheckoutProblem(host, answer.message), policy, answer.status);
    },
  };
}

/**
 * The web checkout: a page to deploy (or extend) a pod paid from the tenant's Open Payments wallet. The
 * form posts to this host only; the wallet's consent page sends the browser back to `/deploy/finish/{id}`.
 * Every failure shows the form again as it was, with what went wrong.
 */
export function deployRoutes(
  options: DeployRouteOptions,
  checkout: CheckoutService | undefined,
): ServerRoute[] {
  const host = new URL(options.publicUri).host;
  const asset = (body: string, type: string) => (_request: Request, h: ResponseToolkit) =>
    h.response(body).type(type).header('cache-control', 'max-age=3600');
  const styles: ServerRoute = {
    method: 'GET',
    path: '/deploy/checkout.css',
    handler: asset(CHECKOUT_CSS, 'text/css; charset=utf-8'),
  };
  if (!checkout) return [unavailable(host), styles];
  // The form's answer redirects to the wallet's consent page, which form-action must allow.
  const policy = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    `form-action 'self' https:${options.dev ? ' http:' : ''}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  const html = (h: ResponseToolkit, body: string, status = 200) => htmlPage(h, body, policy, status);
  const hourly = () =>
    checkout.prices(3600).map(({ method, amount, assetCode }) => ({ method, amount, assetCode }));
  const form = (h: ResponseToolkit, fields: CheckoutFields, error?: CodiusError) => {
    const answer = error ? httpAnswerOf(error) : undefined;
    const view = { host, fields, hourly: hourly(), maxDurationSeconds: options.maxDurationSeconds };
    return html(h, renderCheckoutPage({ ...view, problem: answer?.message }), answer?.status);
  };
  return [
    {
      method: 'GET',
      path: '/deploy',
      handler: (request, h) => {
        const raw: unknown = request.query.extend;
        const extend = typeof raw === 'string' ? raw.toLowerCase() : '';
        return form(h, { ...EMPTY_FIELDS, extend: MANIFEST_HASH_PATTERN.test(extend) ? extend : '' });
      },
    },
    {
      method: 'GET',
      path: '/deploy/checkout.js',
      handler: asset(CHECKOUT_JS, 'text/javascript; charset=utf-8'),
    },
    styles,
    {
      method: 'POST',
      path: '/deploy/quote',
      options: FORM,
      handler: (request) => {
        const { pod, durationSeconds } = parsePodFields(
          fieldsOf(request.payload),
          options.maxDurationSeconds,
        );
        return checkout.quote(pod, durationSeconds);
      },
    },
    {
      method: 'POST',
      path: '/deploy',
      options: FORM,
      handler: async (request, h) => {
        const fields = fieldsOf(request.payload);
        try {
          if (crossSite(request)) throw new CodiusError('checkout_cross_site', {});
          const parsed = parseCheckoutForm(fields, options.maxDurationSeconds);
          const client = request.paymentAttempt().client;
          const started = await checkout.start({ ...parsed, client });
          if (started.kind === 'done') return html(h, renderCheckoutDone({ host, ...started.answer }));
          return h.redirect(started.redirect).code(303).header('cache-control', 'no-store');
        } catch (error) {
          if (isCodiusError(error)) return form(h, fields, error);
          throw error;
        }
      },
    },
    {
      method: 'GET',
      path: '/deploy/finish/{id}',
      handler: async (request, h) => {
        const query = request.query as Record<string, unknown>;
        const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
        try {
          const outcome = await checkout.finish(String(request.params.id), {
            interactRef: text(query.interact_ref),
            hash: text(query.hash),
          });
          if (outcome.ok)
            return html(
              h,
              renderCheckoutDone({
                host,
                ...outcome.answer,
                ...(outcome.renewal ? { renewal: outcome.renewal } : {}),
              }),
            );
          return form(h, fieldsFor(outcome.request), outcome.error);
        } catch (error) {
          if (!isCodiusError(error)) throw error;
          const answer = httpAnswerOf(error);
          return html(h, renderCheckoutProblem(host, answer.message), answer.status);
        }
      },
    },
  ];
}
