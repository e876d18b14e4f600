import type { ResponseToolkit, ServerRoute } from '@hapi/hapi';
import type { RenewalService } from '../../checkout/renewal-service.js';
import { CodiusError } from '../../domain/errors.js';
import { renderCheckoutProblem, renderRenewalPage } from '../checkout-page.js';
import { httpAnswerOf } from '../error-table.js';
import { crossSite, htmlPage } from './deploy.js';

const POLICY =
  "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The tenant's stop link for a renewal: `/deploy/renewal/{key}` shows it (the key is the capability, given
 * once at checkout), and a post from that page stops it and revokes the grant at the wallet.
 */
export function renewalRoutes(publicUri: string, renewals: RenewalService): ServerRoute[] {
  const host = new URL(publicUri).host;
  const html = (h: ResponseToolkit, body: string, status = 200) => htmlPage(h, body, POLICY, status);
  const problem = (h: ResponseToolkit, error: CodiusError) => {
    const answer = httpAnswerOf(error);
    return html(h, renderCheckoutProblem(host, answer.message), answer.status);
  };
  async function show(h: ResponseToolkit, key: string) {
    const found = await renewals.byStopKey(key);
    if (!found) return problem(h, new CodiusError('renewal_unknown', {}));
    const view = { host, manifestHash: found.hash, ...found.view };
    return html(h, renderRenewalPage(view, `/deploy/renewal/${encodeURIComponent(key)}`));
  }
  return [
    {
      method: 'GET',
      path: '/deploy/renewal/{key}',
      handler: (request, h) => show(h, String(request.params.key)),
    },
    {
      method: 'POST',
      path: '/deploy/renewal/{key}',
      options: { payload: { allow: ['application/x-www-form-urlencoded'] } },
      handler: async (request, h) => {
        if (crossSite(request)) return problem(h, new CodiusError('checkout_cross_site', {}));
        const key = String(request.params.key);
        if (!(await renewals.stopByKey(key))) return problem(h, new CodiusError('renewal_unknown', {}));
        return show(h, key);
      },
    },
  ];
}
