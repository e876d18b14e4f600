import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createCheckoutService, type CheckoutPod } from '../../src/checkout/checkout-service.js';
import { createCheckoutSessions, CHECKOUT_TTL_MS } from '../../src/checkout/checkout-sessions.js';
import {
  checkWalletServer,
  WalletRefused,
  type TenantWallet,
  type TenantWallets,
} from '../../src/checkout/tenant-wallet.js';
import { CodiusError } from '../../src/domain/errors.js';
import { fieldsFor, fieldsOf, parseCheckoutForm, walletAddressOf } from '../../src/http/checkout-form.js';
import { renderCheckoutDone, renderCheckoutPage } from '../../src/http/checkout-page.js';
import { createHttpServer } from '../../src/http/server.js';
import { deployRoutes } from '../../src/http/routes/deploy.js';
import { hashManifest } from '../../src/manifest/hash.js';
import type { PaymentAttempt } from '../../src/payments/billing.js';
import type { UploadService } from '../../src/uploads/upload-service.js';
import { webManifest } from '../helpers/api-host.js';
import { capturingLogger } from '../helpers/logs.js';

const PUBLIC_URI = 'https://codius.example.com';
const WALLET: TenantWallet = {
  id: 'https://wallet.example/alice',
  assetCode: 'XRP',
  assetScale: 9,
  authServer: 'https://auth.wallet.example',
  resourceServer: 'https://wallet.example',
};
const INCOMING = 'https://host-wallet.example/incoming-payments/1';

/** A wallet provider as the checkout sees it, recording what was asked; `quotes` are handed out in turn. */
function fakeWallets(
  options: {
    quotes?: readonly string[];
    failPayment?: boolean;
    expired?: boolean;
    broken?: 'quote' | 'consent' | 'pay';
  } = {},
) {
  const quotes = [...(options.quotes ?? ['2283106'])];
  const calls: string[] = [];
  let finishUri = '';
  let nonce = '';
  const wallets: TenantWallets = {
    resolve(url) {
      calls.push(`resolve ${url}`);
      if (url.includes('refused')) return Promise.reject(new WalletRefused('not https'));
      if (url.includes('nobody')) return Promise.reject(new Error('404 Not Found'));
      return Promise.resolve(WALLET);
    },
    quote(_wallet, receiver) {
      calls.push(`quote ${receiver}`);
      if (options.broken === 'quote') return Promise.reject(new Error('503 quote service down'));
      const value = quotes.shift() ?? '2283106';
      const amount = { value, assetCode: 'XRP', assetScale: 9 };
      const expiresAt = new Date(Date.now() + (options.expired ? -1000 : 60_000)).toISOString();
      return Promise.resolve({
        id: `quote-${calls.length}`,
        debitAmount: amount,
        receiveAmount: amount,
        expiresAt,
      });
    },
    askConsent(_wallet, debit, finish) {
      calls.push(`consent ${debit.value}`);
      if (options.broken === 'consent') return Promise.reject(new Error('400 invalid_request'));
      finishUri = finish.uri;
      nonce = finish.nonce;
      return Promise.resolve({
        redirect: 'https://auth.wallet.example/interact/1',
        serverNonce: 'server-nonce',
        continueUri: 'https://auth.wallet.example/continue/1',
        continueToken: 'continue-token',
      });
    },
    continueGrant(_consent, ref) {
      calls.push(`continue ${ref}`);
      return ref === 'refused'
        ? Promise.reject(new Error('401'))
        : Promise.resolve({ value: 'access-token', manage: 'https://auth.wallet.example/token/1' });
    },
    rotate: (grant) => Promise.resolve({ ...grant, value: `${grant.value}+` }),
    revoke: () => Promise.resolve(),
    pay(_wallet, token, quoteId) {
      calls.push(`pay ${quoteId} with ${token}`);
      if (options.broken === 'pay') return Promise.reject(new Error('403 insufficient balance'));
      return Promise.resolve({ id: 'out-1', failed: options.failPayment ?? false, sent: 2283106n });
    },
  };
  const finish = (ref = 'ref-1') => ({
    id: finishUri.split('/').pop() ?? '',
    query: {
      interactRef: ref,
      hash: createHash('sha256')
        .update(`${nonce}\nserver-nonce\n${ref}\n${WALLET.authServer}`)
        .digest('base64'),
    },
  });
  return { wallets, calls, finish };
}

/** An upload service that asks for an Open Payments payment until `paid()`, then answers the pod. */
function fakeUploads(offer = true) {
  const state = { paid: false, tokens: [] as string[], creditPays: false };
  const respond = (attempt: PaymentAttempt) => {
    state.tokens.push(attempt.token().toString('hex'));
    if (state.paid || state.creditPays) {
      return Promise.resolve({
        url: 'https://x.codius.example.com/',
        manifestHash: 'x',
        expiry: '2030-01-01T00:00:00.000Z',
      });
    }
    const body = offer
      ? {
          openPayments: {
            incomingPayment: INCOMING,
            expiresAt: new Date(Date.now() + 600_000).toISOString(),
          },
        }
      : undefined;
    return Promise.reject(
      new CodiusError('payment_required', { offers: [{ headers: { Pay: 'x' }, ...(body ? { body } : {}) }] }),
    );
  };
  const uploads: Pick<UploadService, 'upload' | 'extend'> = {
    upload: (_request, _seconds, attempt) => respond(attempt),
    extend: (_hash, _seconds, attempt) => respond(attempt),
  };
  return { uploads, state };
}

const pod: CheckoutPod = { kind: 'upload', request: { manifest: webManifest('checkout') } };

function service(wallets: TenantWallets, uploads: Pick<UploadService, 'upload' | 'extend'>) {
  return createCheckoutService({
    publicUri: PUBLIC_URI,
    uploads,
    wallets,
    prices: () => [{ method: 'open-payments', asset: { code: 'XRP', scale: 9 }, amount: 2283106n }],
    logger: capturingLogger().logger,
  });
}

const request = { pod, durationSeconds: 600, walletAddress: WALLET.id, client: '192.0.2.1' };

describe('checkout service', () => {
  it('quotes the host’s incoming payment at the tenant’s wallet, asks consent, then pays and runs once', async () => {
    const { wallets, calls, finish } = fakeWallets();
    const { uploads, state } = fakeUploads();
    const checkout = service(wallets, uploads);
    const started = await checkout.start(request);
    assert.deepEqual(started, {
      kind: 'consent',
      redirect: 'https://auth.wallet.example/interact/1',
      debitAmount: { value: '2283106', assetCode: 'XRP', assetScale: 9 },
    });
    const { id, query } = finish();
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    state.paid = true;
    const outcome = await checkout.finish(id, query);
    assert.equal(outcome.ok, true);
    assert.deepEqual(calls, [
      `resolve ${WALLET.id}`,
      `quote ${INCOMING}`,
      'consent 2283106',
      'continue ref-1',
      'pay quote-2 with access-token',
    ]);
    assert.equal(new Set(state.tokens).size, 1, 'one pay token for the offer and the paid request');
    await assert.rejects(checkout.finish(id, query), { code: 'checkout_unknown' });
  });

  it('ends in a coded outcome that keeps the request when consent is refused, unverified or unpaid', async () => {
    for (const [setup, ref, code] of [
      [{}, undefined, 'checkout_refused'],
      [{}, 'refused', 'checkout_refused'],
      [{ failPayment: true }, 'ref-1', 'checkout_payment_failed'],
      [{ expired: true, quotes: ['2283106', '2283200'] }, 'ref-1', 'checkout_price_changed'],
    ] as const) {
      const { wallets, finish } = fakeWallets(setup);
      const checkout = service(wallets, fakeUploads().uploads);
      await checkout.start(request);
      const { id, query } = finish(ref ?? 'ref-1');
      const outcome = await checkout.finish(id, ref === undefined ? {} : query);
      assert.ok(!outcome.ok, `${code} expected`);
      assert.equal(outcome.error.code, code);
      assert.deepEqual(outcome.request, {
        pod,
        durationSeconds: 600,
        walletAddress: WALLET.id,
        renew: false,
      });
    }
    const { wallets, finish } = fakeWallets();
    const checkout = service(wallets, fakeUploads().uploads);
    await checkout.start(request);
    const { id, query } = finish();
    const forged = await checkout.finish(id, { ...query, hash: Buffer.alloc(32).toString('base64') });
    assert.equal(!forged.ok && forged.error.code, 'checkout_unverified');
  });

  it('pays with a new quote when the approved one expired and the amount did not grow', async () => {
    const { wallets, calls, finish } = fakeWallets({ expired: true, quotes: ['2283106', '2283100'] });
    const { uploads, state } = fakeUploads();
    const checkout = service(wallets, uploads);
    await checkout.start(request);
    state.paid = true;
    const { id, query } = finish();
    assert.equal((await checkout.finish(id, query)).ok, true);
    assert.ok(calls.includes('pay quote-5 with access-token'), calls.join('\n'));
  });

  it('runs at once when credit pays, and refuses hosts or wallets it cannot use', async () => {
    const { wallets, calls } = fakeWallets();
    const credit = fakeUploads();
    credit.state.creditPays = true;
    assert.equal((await service(wallets, credit.uploads).start(request)).kind, 'done');
    assert.deepEqual(calls, [], 'no wallet was asked');
    await assert.rejects(service(wallets, fakeUploads(false).uploads).start(request), {
      code: 'checkout_unavailable',
    });
    const checkout = service(wallets, fakeUploads().uploads);
    await assert.rejects(checkout.start({ ...request, walletAddress: 'http://refused.example' }), {
      code: 'checkout_wallet_refused',
    });
    await assert.rejects(checkout.start({ ...request, walletAddress: 'https://nobody.example' }), {
      code: 'checkout_wallet_unreachable',
    });
  });
});

describe('checkout service: extensions and failing wallets', () => {
  it('extends a pod by its hash; the quote then names no manifest hash', async () => {
    const { wallets, finish } = fakeWallets();
    const { uploads, state } = fakeUploads();
    const checkout = service(wallets, uploads);
    const extend: CheckoutPod = { kind: 'extend', hash: 'a'.repeat(52) };
    assert.equal(checkout.quote(extend, 600).manifestHash, null);
    assert.deepEqual(checkout.quote(pod, 600).prices, [
      { method: 'open-payments', value: '2283106', amount: '0.002283106', assetCode: 'XRP', assetScale: 9 },
    ]);
    await checkout.start({ ...request, pod: extend });
    state.paid = true;
    const { id, query } = finish();
    const outcome = await checkout.finish(id, query);
    assert.ok(outcome.ok);
  });

  it('says which step of the wallet failed, and pays nothing before it', async () => {
    for (const [broken, code] of [
      ['quote', 'checkout_wallet_unreachable'],
      ['consent', 'checkout_wallet_unreachable'],
    ] as const) {
      const checkout = service(fakeWallets({ broken }).wallets, fakeUploads().uploads);
      await assert.rejects(checkout.start(request), { code });
    }
    const { wallets, finish } = fakeWallets({ broken: 'pay' });
    const checkout = service(wallets, fakeUploads().uploads);
    await checkout.start(request);
    const { id, query } = finish();
    const outcome = await checkout.finish(id, query);
    assert.ok(!outcome.ok);
    assert.equal(outcome.error.code, 'checkout_payment_failed');
    assert.match(JSON.stringify(outcome.error.details), /insufficient balance/);
  });
});

describe('checkout with renewal', () => {
  it('asks consent for one payment per period starting a margin ago, and begins the renewal after paying', async () => {
    const { wallets, finish } = fakeWallets();
    const asked: Array<string | undefined> = [];
    const consent = wallets.askConsent.bind(wallets);
    wallets.askConsent = (wallet, debit, back, interval) => {
      asked.push(interval);
      return consent(wallet, debit, back, interval);
    };
    const { uploads, state } = fakeUploads();
    const begun: unknown[] = [];
    const checkout = createCheckoutService({
      publicUri: PUBLIC_URI,
      uploads,
      wallets,
      prices: () => [],
      logger: capturingLogger().logger,
      now: () => Date.parse('2026-12-05T10:00:00.000Z'),
      renewals: {
        begin: (start) => {
          begun.push(start);
          return Promise.resolve({ stopKey: 'key', nextAt: Date.parse('2026-12-05T10:05:00.000Z') });
        },
      },
    });
    const started = await checkout.start({ ...request, renew: true });
    assert.equal(started.kind === 'consent' && started.interval, 'R/2026-12-05T09:55:00Z/PT600S');
    assert.deepEqual(asked, ['R/2026-12-05T09:55:00Z/PT600S']);
    state.paid = true;
    const { id, query } = finish();
    const outcome = await checkout.finish(id, query);
    assert.ok(outcome.ok);
    assert.deepEqual(outcome.renewal, {
      stopUrl: 'https://codius.example.com/deploy/renewal/key',
      nextAt: '2026-12-05T10:05:00.000Z',
      interval: 'R/2026-12-05T09:55:00Z/PT600S',
    });
    assert.equal(begun.length, 1);
    const page = renderCheckoutDone({
      host: 'codius.example.com',
      ...outcome.answer,
      renewal: outcome.renewal,
    });
    assert.match(page, /id="renewal-stop" href="https:\/\/codius.example.com\/deploy\/renewal\/key"/);
    const form = fieldsFor({ pod, durationSeconds: 600, walletAddress: WALLET.id, renew: true });
    assert.equal(form.renew, 'on');
    assert.match(
      renderCheckoutPage({ host: 'h', fields: form, hourly: [], maxDurationSeconds: 3600 }),
      /name="renew" value="on" checked/,
    );
  });
});

describe('checkout sessions', () => {
  it('bounds checkouts per client and in all, ends them after their time, and hands each out once', () => {
    let time = 0;
    const sessions = createCheckoutSessions<string>({ now: () => time, maxOpen: 3, maxPerClient: 2 });
    const a = sessions.reserve('a');
    sessions.reserve('a');
    assert.throws(() => sessions.reserve('a'), { code: 'too_many_checkouts' });
    const b = sessions.reserve('b', 1000);
    assert.throws(() => sessions.reserve('c'), { code: 'too_many_checkouts' });
    assert.equal(sessions.take(a), undefined, 'not filled yet');
    sessions.fill(b, 'b');
    time = 1000;
    assert.equal(sessions.take(b), undefined, 'ended with its offer');
    const c = sessions.reserve('c');
    sessions.fill(c, 'c');
    assert.equal(sessions.take(c), 'c');
    assert.equal(sessions.take(c), undefined);
    time += CHECKOUT_TTL_MS;
    assert.equal(sessions.size(), 0);
  });
});

describe('checkout form', () => {
  it('reads a manifest, a file with private values, an extension, a payment pointer and the duration', () => {
    const manifest = webManifest('form');
    const fields = fieldsOf({
      manifest: JSON.stringify({ manifest }),
      duration: '600',
      wallet: ' $wallet.example/alice ',
    });
    const form = parseCheckoutForm(fields, 3600);
    assert.equal(
      form.pod.kind === 'upload' && hashManifest(form.pod.request.manifest),
      hashManifest(manifest),
    );
    assert.equal(form.walletAddress, 'https://wallet.example/alice');
    assert.equal(form.durationSeconds, 600);
    assert.deepEqual(
      parseCheckoutForm(fieldsFor(form), 3600),
      form,
      'the fields shown again submit the same',
    );
    assert.equal(walletAddressOf('$wallet.example'), 'https://wallet.example/.well-known/pay');
    const hash = hashManifest(manifest);
    assert.deepEqual(
      parseCheckoutForm(fieldsOf({ extend: hash.toUpperCase(), duration: '60', wallet: WALLET.id }), 3600)
        .pod,
      {
        kind: 'extend',
        hash,
      },
    );
  });

  it('names the field that is wrong', () => {
    const bad = (body: Record<string, string>) => () => parseCheckoutForm(fieldsOf(body), 3600);
    assert.throws(
      bad({ manifest: '{', wallet: WALLET.id }),
      (e: CodiusError) => e.code === 'checkout_form_invalid' && /manifest/.test(JSON.stringify(e.details)),
    );
    assert.throws(bad({ manifest: '', wallet: WALLET.id }), { code: 'checkout_form_invalid' });
    assert.throws(
      bad({ manifest: JSON.stringify(webManifest()), private: 'x', wallet: WALLET.id }),
      (e: CodiusError) => JSON.stringify(e.details).includes('private'),
    );
    assert.throws(bad({ manifest: JSON.stringify(webManifest()), wallet: 'ftp://x' }), {
      code: 'checkout_form_invalid',
    });
    assert.throws(bad({ manifest: JSON.stringify(webManifest()), wallet: WALLET.id, duration: '0' }), {
      code: 'invalid_duration',
    });
    assert.throws(bad({ extend: 'nope', wallet: WALLET.id }), { code: 'checkout_form_invalid' });
    assert.throws(bad({ manifest: JSON.stringify({ name: 1 }), wallet: WALLET.id }), {
      code: 'invalid_payload',
    });
  });

  it('contacts only public https wallet servers (loopback http in development mode)', async () => {
    await assert.rejects(checkWalletServer('http://wallet.example/a', false), WalletRefused);
    await assert.rejects(checkWalletServer('https://10.0.0.1/a', false), /not on a public address/);
    await assert.rejects(checkWalletServer('https://[::1]/a', false), WalletRefused);
    await assert.rejects(checkWalletServer('https://user:pw@203.0.113.9/a', false), /credentials/);
    await assert.rejects(checkWalletServer('not a url', false), /not a URL/);
    await checkWalletServer('https://203.0.113.9/a', false);
    await checkWalletServer('http://127.0.0.1:4000/a', true);
    await assert.rejects(checkWalletServer('http://127.0.0.1:4000/a', false), WalletRefused);
  });
});

describe('checkout routes', () => {
  async function server(withCheckout: boolean) {
    const { wallets } = fakeWallets();
    const app = createHttpServer({ host: '127.0.0.1', port: 0, logger: capturingLogger().logger });
    const { paymentsPlugin } = await import('../../src/http/plugins/payments.js');
    await app.register({ plugin: paymentsPlugin, options: { clientOf: () => '192.0.2.1' } });
    app.route(
      deployRoutes(
        { publicUri: PUBLIC_URI, maxDurationSeconds: 3600, dev: false },
        withCheckout ? service(wallets, fakeUploads().uploads) : undefined,
      ),
    );
    return app;
  }

  it('serves the form with a strict policy, a quote as JSON, and the consent redirect', async () => {
    const app = await server(true);
    const page = await app.inject({ method: 'GET', url: `/deploy?extend=${'a'.repeat(52)}` });
    assert.equal(page.statusCode, 200);
    assert.match(
      String(page.headers['content-security-policy']),
      /script-src 'self'; .*form-action 'self' https:;/,
    );
    assert.match(page.payload, /<input type="hidden" name="extend" value="a{52}">/);
    assert.match(page.payload, /Open Payments<\/th><td>0\.002283106 XRP/);
    const manifest = webManifest('routes');
    const form = new URLSearchParams({
      manifest: JSON.stringify(manifest),
      duration: '600',
      wallet: WALLET.id,
    });
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const quote = await app.inject({
      method: 'POST',
      url: '/deploy/quote',
      headers,
      payload: form.toString(),
    });
    assert.equal(
      (JSON.parse(quote.payload) as { manifestHash: string }).manifestHash,
      hashManifest(manifest),
    );
    const started = await app.inject({
      method: 'POST',
      url: '/deploy',
      headers: { ...headers, 'sec-fetch-site': 'same-origin' },
      payload: form.toString(),
    });
    assert.equal(started.statusCode, 303);
    assert.equal(started.headers.location, 'https://auth.wallet.example/interact/1');
    const crossSite = await app.inject({
      method: 'POST',
      url: '/deploy',
      headers: { ...headers, 'sec-fetch-site': 'cross-site' },
      payload: form.toString(),
    });
    assert.equal(crossSite.statusCode, 403);
    assert.match(crossSite.payload, /id="problem" role="alert"/);
    assert.match(crossSite.payload, new RegExp(manifest.name), 'the form keeps what was typed');
    const over = await app.inject({ method: 'GET', url: '/deploy/finish/unknown' });
    assert.equal(over.statusCode, 404);
    assert.match(over.payload, /unknown or over/);
  });

  it('judges a post by its Origin when the browser sends no Sec-Fetch-Site, and shows a failed finish in the form', async () => {
    const { wallets, finish } = fakeWallets();
    const app = createHttpServer({ host: '127.0.0.1', port: 0, logger: capturingLogger().logger });
    const { paymentsPlugin } = await import('../../src/http/plugins/payments.js');
    await app.register({ plugin: paymentsPlugin, options: { clientOf: () => '192.0.2.1' } });
    app.route(
      deployRoutes(
        { publicUri: PUBLIC_URI, maxDurationSeconds: 3600, dev: true },
        service(wallets, fakeUploads().uploads),
      ),
    );
    const manifest = webManifest('origin');
    const payload = new URLSearchParams({
      manifest: JSON.stringify(manifest),
      duration: '600',
      wallet: WALLET.id,
    }).toString();
    const post = (origin: string) =>
      app.inject({
        method: 'POST',
        url: '/deploy',
        headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'codius.example.com', origin },
        payload,
      });
    assert.equal((await post('https://evil.example')).statusCode, 403);
    assert.equal((await post('not a url')).statusCode, 403);
    assert.equal((await post('https://codius.example.com')).statusCode, 303);
    const { id } = finish();
    const refused = await app.inject({ method: 'GET', url: `/deploy/finish/${id}?result=grant_rejected` });
    assert.equal(refused.statusCode, 403);
    assert.match(refused.payload, /not approved at your wallet/);
    assert.match(refused.payload, new RegExp(manifest.name), 'the form is filled again');
    assert.match(String(refused.headers['content-security-policy']), /form-action 'self' https: http:/);
  });

  it('says the host takes no Open Payments when there is no checkout', async () => {
    const page = await (await server(false)).inject({ method: 'GET', url: '/deploy' });
    assert.equal(page.statusCode, 503);
    assert.match(page.payload, /takes no Open Payments/);
  });
});
