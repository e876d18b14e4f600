import type { RenewalView } from '../checkout/renewal-service.js';
import { escapeHtml } from './status-page.js';

/** What the tenant entered, shown again as it was whenever the page comes back (nothing is lost). */
export interface CheckoutFields {
  manifest: string;
  private: string;
  duration: string;
  wallet: string;
  /** A manifest hash: the page extends that pod instead of uploading. */
  extend: string;
  /** "on" to keep the pod running from the wallet. */
  renew: string;
}

/** The price of one hour in an asset the host takes. */
export interface HourlyPrice {
  method: string;
  amount: string;
  assetCode: string;
}

export interface CheckoutPageView {
  host: string;
  fields: CheckoutFields;
  hourly: HourlyPrice[];
  maxDurationSeconds: number;
  /** Why the last attempt failed, said first on the page. */
  problem?: string;
}

export interface CheckoutDoneView {
  host: string;
  url: string;
  manifestHash: string;
  expiry: string;
  creditUsed?: string;
  renewal?: { stopUrl: string; nextAt: string; interval: string };
}

/** A renewal as its stop page shows it. */
export interface RenewalPageView extends RenewalView {
  host: string;
  manifestHash: string;
}

export const EMPTY_FIELDS: CheckoutFields = {
  manifest: '',
  private: '',
  duration: '3600',
  wallet: '',
  extend: '',
  renew: '',
};

const METHOD_NAMES: Record<string, string> = {
  stream: 'Interledger STREAM',
  'open-payments': 'Open Payments',
};

function page(host: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${escapeHtml(host)}</title>
<link rel="stylesheet" href="/deploy/checkout.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function priceRows(hourly: HourlyPrice[]): string {
  return hourly
    .map(
      (price) =>
        `<tr><th scope="row">${escapeHtml(METHOD_NAMES[price.method] ?? price.method)}</th><td>${escapeHtml(price.amount)} ${escapeHtml(price.assetCode)}</td></tr>`,
    )
    .join('\n');
}

/** What to run: a manifest (typed, pasted or read from a file) and its private values, or a pod to extend. */
function podFields(fields: CheckoutFields): string {
  if (fields.extend) {
    return `<p>Extending the pod <code id="extend-hash">${escapeHtml(fields.extend)}</code>.</p>
<input type="hidden" name="extend" value="${escapeHtml(fields.extend)}">`;
  }
  return `<p><label for="manifest-file">Manifest file</label>
<input type="file" id="manifest-file" accept="application/json,.json" aria-describedby="manifest-help"></p>
<p><label for="manifest">Manifest (JSON)</label>
<textarea id="manifest" name="manifest" rows="12" required spellcheck="false" aria-describedby="manifest-help">${escapeHtml(fields.manifest)}</textarea>
<small id="manifest-help">A Codius manifest, or a file holding <code>{"manifest": …, "private": …}</code>.</small></p>
<p><label for="private">Private values (JSON, optional)</label>
<textarea id="private" name="private" rows="4" spellcheck="false" aria-describedby="private-help">${escapeHtml(fields.private)}</textarea>
<small id="private-help">Sent to this host only, never stored in clear: <code>{"vars": {"NAME": {"nonce": "…", "value": "…"}}}</code>.</small></p>`;
}

/** The checkout form, with what the tenant entered and, after a failure, why. */
export function renderCheckoutPage(view: CheckoutPageView): string {
  const { fields } = view;
  const problem = view.problem ? `<p id="problem" role="alert">${escapeHtml(view.problem)}</p>\n` : '';
  return page(
    view.host,
    fields.extend ? 'Extend a pod' : 'Deploy a pod',
    `<h1>${fields.extend ? 'Extend a pod' : 'Deploy a pod'} on ${escapeHtml(view.host)}</h1>
${problem}<form id="checkout" method="post" action="/deploy">
${podFields(fields)}
<p><label for="duration">Duration (seconds)</label>
<input type="number" id="duration" name="duration" min="1" max="${view.maxDurationSeconds}" step="1" required value="${escapeHtml(fields.duration)}"></p>
<p><label for="wallet">Your Open Payments wallet address</label>
<input type="text" id="wallet" name="wallet" required inputmode="url" autocomplete="url" placeholder="https://wallet.example/alice or $wallet.example/alice" value="${escapeHtml(fields.wallet)}"></p>
<p><input type="checkbox" id="renew" name="renew" value="on"${fields.renew === 'on' ? ' checked' : ''} aria-describedby="renew-help">
<label for="renew" class="inline">Keep it running</label>
<small id="renew-help">Your wallet is asked to allow one payment of this price in every period of this duration; the host renews the pod before it expires until you stop it (a link you get next, or at your wallet), the allowance ends or a payment fails.</small></p>
<output id="quote" for="manifest duration" aria-live="polite"></output>
<p><button type="submit" id="pay">Pay with my wallet</button></p>
</form>
<table id="prices"><caption>Price of one hour</caption>
${priceRows(view.hourly)}
</table>
<p>Your wallet shows the exact amount and asks you to approve it; nothing is paid before you do.</p>
<script src="/deploy/checkout.js"></script>`,
  );
}

/** The pod runs: where, until when, and how to give it more time. */
export function renderCheckoutDone(view: CheckoutDoneView): string {
  const credit = view.creditUsed ? `<p>Credit used: ${escapeHtml(view.creditUsed)}</p>` : '';
  const renewal = view.renewal
    ? `<p id="renewal">Kept running: renewed from your wallet before it expires, next at <time id="renewal-next" datetime="${escapeHtml(view.renewal.nextAt)}">${escapeHtml(view.renewal.nextAt)}</time> (interval <code>${escapeHtml(view.renewal.interval)}</code>).
Keep this link to stop it: <a id="renewal-stop" href="${escapeHtml(view.renewal.stopUrl)}">${escapeHtml(view.renewal.stopUrl)}</a></p>\n`
    : '';
  return page(
    view.host,
    'Your pod runs',
    `<h1>Your pod runs</h1>
<dl id="pod">
<dt>Address</dt><dd><a id="pod-url" href="${escapeHtml(view.url)}">${escapeHtml(view.url)}</a></dd>
<dt>Manifest hash</dt><dd><code id="pod-hash">${escapeHtml(view.manifestHash)}</code></dd>
<dt>Runs until</dt><dd><time id="pod-expiry" datetime="${escapeHtml(view.expiry)}">${escapeHtml(view.expiry)}</time></dd>
</dl>
${credit}${renewal}<p><a id="extend-link" href="/deploy?extend=${encodeURIComponent(view.manifestHash)}">Give it more time</a></p>`,
  );
}

/** A step after the wallet failed: what happened, and the way back to the form. */
export function renderCheckoutProblem(host: string, problem: string): string {
  return page(
    host,
    'Checkout stopped',
    `<h1>Checkout stopped</h1>
<p id="problem" role="alert">${escapeHtml(problem)}</p>
<p><a href="/deploy">Back to the checkout</a></p>`,
  );
}

/** The tenant's stop link: the renewal's state, and a button that stops it. */
export function renderRenewalPage(view: RenewalPageView, stopAction: string): string {
  const state = view.active
    ? `<p id="renewal-state">Active: next renewal at <time datetime="${escapeHtml(view.nextAt ?? '')}">${escapeHtml(view.nextAt ?? '')}</time>, from ${escapeHtml(view.walletAddress)}; renewed ${view.renewed} times.</p>
<form method="post" action="${escapeHtml(stopAction)}"><button type="submit" id="stop">Stop renewing</button></form>`
    : `<p id="renewal-state">Stopped (${escapeHtml(view.stopReason ?? 'stopped')}) after ${view.renewed} renewals; the pod runs until its time ends.</p>`;
  return page(
    view.host,
    'Renewal',
    `<h1>Renewal of <code>${escapeHtml(view.manifestHash)}</code></h1>
${state}`,
  );
}
