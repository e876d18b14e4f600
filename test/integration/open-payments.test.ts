// Paid into the host's wallet with Open Payments, end to end: a real bin/codiusd with real Podman pods and
// a real `moneyd local` beside it, and a stand-in account provider (no real one runs here) that validates
// every request and response against the Open Payments specs and verifies every signature. Payers pay
// with the official client through consent pages, as a wallet app does.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Manifest } from '../../src/domain/types.js';
import type { JWK } from '@interledger/http-signature-utils';
import { hashManifest } from '../../src/manifest/hash.js';
import { writeOpenPaymentsKey } from '../../src/payments/open-payments/keygen.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { openStore, STORE_FILE } from '../../src/store/store.js';
import { freePort, startDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { setupMoneyd } from '../helpers/moneyd.js';
import { createPayer } from '../helpers/open-payments/payer.js';
import { startFakeProvider } from '../helpers/open-payments/provider.js';
import { setupPodman } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until, untilAcceptingUploads } from '../helpers/wait.js';

await setupMoneyd();
const fixture = await setupPodman();
const provider = await startFakeProvider();
const root = await tempDir();
fixture.adoptHostId(hostIdFromSecret((await loadOrCreateHostSecret(root)).secret));
const keyFile = join(root, 'open-payments.pem');
const hostKey = await writeOpenPaymentsKey(keyFile);
const hostWallet = provider.wallet('codius-host', {
  assetCode: 'XRP',
  assetScale: 9,
  keys: [hostKey.jwk as unknown as JWK],
});
/** 10 XRP per month at scale 9: 600 s cost 2283106 base units. */
const PRICE_600 = 2_283_106n;
const port = await freePort();
const adminPort = await freePort();
const adminToken = randomBytes(24).toString('hex');
const env = {
  CODIUS_DEV: 'true',
  CODIUS_ROOT: root,
  CODIUS_PORT: String(port),
  CODIUS_BOOTSTRAP_PEERS: '[]',
  CODIUS_PODMAN_NETWORK: fixture.network,
  CODIUS_PODMAN_SUBNET: fixture.subnet,
  CONTAINERS_REGISTRIES_CONF: process.env.CONTAINERS_REGISTRIES_CONF ?? '',
  CODIUS_PAYMENT_TIMEOUT: '3',
  CODIUS_OPEN_PAYMENTS_OFFER_TTL: '8',
  CODIUS_OPEN_PAYMENTS_WALLET: hostWallet.id,
  CODIUS_OPEN_PAYMENTS_KEY_ID: hostKey.keyId,
  CODIUS_OPEN_PAYMENTS_PRIVATE_KEY: keyFile,
  CODIUS_ADMIN_API: 'true',
  CODIUS_ADMIN_PORT: String(adminPort),
  CODIUS_ADMIN_TOKEN: adminToken,
};
/** Waits until a host takes uploads, and Open Payments (its wallet's asset is read in the background). */
async function untilTakingOpenPayments(url: string): Promise<void> {
  await untilAcceptingUploads(url);
  await until('the host takes Open Payments', async () => {
    const info = (await (await fetch(`${url}/info`)).json()) as {
      paymentMethods?: Array<{ method: string }>;
    };
    return info.paymentMethods?.some((m) => m.method === 'open-payments') === true;
  });
}

async function startHost(): Promise<DaemonProcess & { url: string }> {
  const started = await startDaemon(env);
  await untilTakingOpenPayments(started.url);
  return started;
}

let daemon: DaemonProcess & { url: string } = await startHost();
const alice = await createPayer(provider, 'alice', 100n * PRICE_600);

interface Answer {
  status: number;
  pay: string | null;
  body: Record<string, unknown>;
}

/** A request of a Codius client with its Pay-Token. */
function send(method: string, path: string, token: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      `${daemon.url}${path}`,
      {
        method,
        headers: { 'pay-token': token, ...(payload ? { 'content-type': 'application/json' } : {}) },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            pay: typeof res.headers.pay === 'string' ? res.headers.pay : null,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

interface Offer {
  incomingPayment: string;
  walletAddress: string;
  amount: { value: string; assetCode: string; assetScale: number };
  expiresAt: string;
}
const offerOf = (answer: Answer): Offer => {
  assert.equal(answer.status, 402, JSON.stringify(answer.body));
  return answer.body.openPayments as Offer;
};
const newToken = (): string => randomBytes(16).toString('base64url');
const manifest = (name: string): Manifest => ({
  name: `${name}-${randomBytes(4).toString('hex')}`,
  version: '1.0.0',
  port: '3000',
  containers: [{ id: 'web', image: fixture.webImage }],
});

/** GET through codiusd with the pod's Host header, as a browser on `<hash>.<host>` would. */
function viaProxy(hash: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      daemon.url,
      { headers: { host: `${hash}.local.codius.org:${port}` }, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function ledger(hash: string) {
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  const store = await openStore({ root, inMemory: false });
  try {
    return (await store.ledger.listForManifest(hash)).map((l) => ({
      purpose: l.purpose,
      amount: l.amount,
      credit: l.credit,
      method: l.method,
      ref: l.paymentRef,
    }));
  } finally {
    await store.close();
    daemon = await startHost();
  }
}

describe('Open Payments: the host is paid into its wallet', () => {
  it('offers an incoming payment beside STREAM; a paid upload and an extension end in a proxied 200', async (t) => {
    const pod = manifest('op-upload');
    const hash = hashManifest(pod);
    const token = newToken();
    const challenge = await send('POST', '/pods?duration=600', token, { manifest: pod });
    const offer = offerOf(challenge);
    assert.match(challenge.pay ?? '', /^interledger-stream /, 'STREAM is offered too');
    assert.deepEqual(offer.amount, { value: PRICE_600.toString(), assetCode: 'XRP', assetScale: 9 });
    assert.equal(offer.walletAddress, hostWallet.id);
    const again = offerOf(await send('POST', '/pods?duration=600', token, { manifest: pod }));
    assert.equal(again.incomingPayment, offer.incomingPayment, 'one pay token, one incoming payment');
    await alice.pay(offer.incomingPayment);
    const paid = await send('POST', '/pods?duration=600', token, { manifest: pod });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    await until('the pod answers through the proxy', async () => (await viaProxy(hash)) === 200, 20_000);

    const extension = newToken();
    const extendOffer = offerOf(await send('PUT', `/pods?manifestHash=${hash}&duration=600`, extension));
    await alice.pay(extendOffer.incomingPayment);
    const extended = await send('PUT', `/pods?manifestHash=${hash}&duration=600`, extension);
    assert.equal(extended.status, 200, JSON.stringify(extended.body));
    assert.ok(Date.parse(String(extended.body.expiry)) - Date.parse(String(paid.body.expiry)) >= 599_000);
    const lines = await ledger(hash);
    t.diagnostic(`ledger: ${JSON.stringify(lines)}`);
    assert.deepEqual(lines, [
      {
        purpose: 'upload',
        amount: PRICE_600.toString(),
        credit: '0',
        method: 'open-payments',
        ref: offer.incomingPayment,
      },
      {
        purpose: 'extend',
        amount: PRICE_600.toString(),
        credit: '0',
        method: 'open-payments',
        ref: extendOffer.incomingPayment,
      },
    ]);
    assert.equal(
      provider.resources.incoming.get(offer.incomingPayment)?.completed,
      true,
      'completed once booked',
    );
  });

  it('takes a payment in two parts: the first retry is offered the same incoming payment again', async () => {
    const pod = manifest('op-split');
    const token = newToken();
    const offer = offerOf(await send('POST', '/pods?duration=600', token, { manifest: pod }));
    await alice.pay(offer.incomingPayment, 1_000_000n);
    const short = await send('POST', '/pods?duration=600', token, { manifest: pod });
    assert.equal(offerOf(short).incomingPayment, offer.incomingPayment);
    await alice.pay(offer.incomingPayment, PRICE_600 - 1_000_000n);
    const paid = await send('POST', '/pods?duration=600', token, { manifest: pod });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    assert.deepEqual(
      (await ledger(hashManifest(pod))).map((l) => [l.purpose, l.amount, l.credit]),
      [['upload', PRICE_600.toString(), '0']],
    );
  });

  it('keeps what an overpayment brought beyond the price as the manifest credit, and spends it next time', async () => {
    const pod = manifest('op-over');
    const token = newToken();
    const offer = offerOf(await send('POST', '/pods?duration=600', token, { manifest: pod }));
    await alice.pay(offer.incomingPayment, PRICE_600 + 500n);
    assert.equal((await send('POST', '/pods?duration=600', token, { manifest: pod })).status, 200);
    const lines = await ledger(hashManifest(pod));
    assert.deepEqual(
      lines.map((l) => [l.purpose, l.amount, l.credit]),
      [['upload', (PRICE_600 + 500n).toString(), '500']],
    );
  });

  it('books what an offer held when it ended unpaid as credit; its pay token is spent', async (t) => {
    const pod = manifest('op-expired');
    const hash = hashManifest(pod);
    const token = newToken();
    const offer = offerOf(await send('POST', '/pods?duration=600', token, { manifest: pod }));
    await alice.pay(offer.incomingPayment, 700_000n);
    await until(
      'the offer ended and its money was booked',
      () => provider.resources.incoming.get(offer.incomingPayment)?.completed === true,
      30_000,
      250,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const retry = await send('POST', '/pods?duration=600', token, { manifest: pod });
    assert.equal(retry.status, 400, JSON.stringify(retry.body));
    const lines = await ledger(hash);
    t.diagnostic(`ledger of the ended offer: ${JSON.stringify(lines)}`);
    assert.deepEqual(
      lines.map((l) => [l.purpose, l.amount, l.credit, l.ref]),
      [['shortfall', '700000', '700000', offer.incomingPayment]],
    );
  });

  it('books one payment once: the same Pay-Token again is refused, and so is a retry after kill -9', async () => {
    const pod = manifest('op-once');
    const hash = hashManifest(pod);
    const token = newToken();
    const offer = offerOf(await send('POST', '/pods?duration=600', token, { manifest: pod }));
    await alice.pay(offer.incomingPayment);
    // The payer paid; codiusd dies before the retry comes.
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    daemon = await startHost();
    const paid = await send('POST', '/pods?duration=600', token, { manifest: pod });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const twice = await send('POST', '/pods?duration=600', token, { manifest: pod });
    assert.equal(twice.status, 400);
    assert.deepEqual(
      (await ledger(hash)).map((l) => [l.purpose, l.amount, l.ref]),
      [['upload', PRICE_600.toString(), offer.incomingPayment]],
    );
  });

  it('gets a new grant when the wallet owner revoked the host’s, and refuses nothing meanwhile', async () => {
    // An offer first, so the host holds a grant; then its owner revokes it.
    offerOf(await send('POST', '/pods?duration=600', newToken(), { manifest: manifest('op-before-revoke') }));
    provider.revokeGrantsOf(hostWallet.id);
    const pod = manifest('op-revoked');
    const token = newToken();
    const offer = offerOf(await send('POST', '/pods?duration=600', token, { manifest: pod }));
    await alice.pay(offer.incomingPayment);
    assert.equal((await send('POST', '/pods?duration=600', token, { manifest: pod })).status, 200);
    assert.ok(
      provider.refusals.some((r) => /Invalid Token|unknown token/.test(r)),
      provider.refusals.join('\n'),
    );
  });

  it('a host whose key the provider does not know, or who signs with another key, offers STREAM alone', async () => {
    const unregistered = await strangerOffers(async (file) => (await writeOpenPaymentsKey(file)).keyId);
    assert.equal(unregistered.openPayments, false);
    assert.ok(
      provider.refusals.some((r) => /no key .* published for the client/.test(r)),
      provider.refusals.join('\n'),
    );
    // The registered key's id, a different private key: every signature is wrong.
    const forged = await strangerOffers(async (file) => {
      await writeOpenPaymentsKey(file);
      return hostKey.keyId;
    });
    assert.equal(forged.openPayments, false);
    assert.ok(
      provider.refusals.some((r) => /401 invalid signature/.test(r)),
      provider.refusals.join('\n'),
    );
  });

  it('shows the money per method: /api/money and /metrics agree with the ledger', async (t) => {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    const db = await openDatabase(join(root, STORE_FILE));
    const lines = await db.all<{ method: string; amount: string }>('SELECT method, amount FROM ledger');
    await db.close();
    daemon = await startHost();
    const received = (method: string) =>
      lines.filter((l) => l.method === method).reduce((sum, l) => sum + BigInt(l.amount), 0n);
    const viaOpenPayments = received('open-payments');
    t.diagnostic(
      `paid into the host wallet ${hostWallet.balance}; booked: open-payments ${viaOpenPayments} in ${lines.filter((l) => l.method === 'open-payments' && l.amount !== '0').length} payments, stream ${received('stream')}`,
    );
    // Every unit paid into the host's wallet is booked, and nothing else.
    assert.equal(hostWallet.balance, viaOpenPayments, 'paid into the wallet = booked');
    assert.ok(viaOpenPayments > 5n * PRICE_600);
    const admin = (path: string) =>
      fetch(`http://127.0.0.1:${adminPort}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
    const money = (await (await admin('/api/money')).json()) as Record<
      string,
      { received: string; methods: Record<string, string> }
    >;
    assert.equal(money.XRP?.methods['open-payments'], viaOpenPayments.toString());
    assert.equal(money.XRP.received, (received('open-payments') + received('stream')).toString());
    const metrics = await (await admin('/metrics')).text();
    assert.match(
      metrics,
      new RegExp(
        `^codiusd_money_received_by_method_base_units\\{method="open-payments",asset_code="XRP"\\} ${viaOpenPayments}$`,
        'm',
      ),
    );
  });
});

/** Whether a second host, with a key made by `key` in its own root, offers Open Payments in its 402. */
async function strangerOffers(key: (file: string) => Promise<string>): Promise<{ openPayments: boolean }> {
  const other = await tempDir();
  fixture.adoptHostId(hostIdFromSecret((await loadOrCreateHostSecret(other)).secret));
  const file = join(other, 'stranger.pem');
  const keyId = await key(file);
  const stranger = await startDaemon({
    ...env,
    CODIUS_ROOT: other,
    CODIUS_PORT: String(await freePort()),
    CODIUS_ADMIN_API: 'false',
    CODIUS_OPEN_PAYMENTS_KEY_ID: keyId,
    CODIUS_OPEN_PAYMENTS_PRIVATE_KEY: file,
  });
  after(() => stranger.child.kill('SIGKILL'));
  await untilTakingOpenPayments(stranger.url);
  const answer = await fetch(`${stranger.url}/pods?duration=600`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'pay-token': newToken() },
    body: JSON.stringify({ manifest: manifest('op-stranger') }),
  });
  assert.equal(answer.status, 402);
  assert.match(answer.headers.get('pay') ?? '', /^interledger-stream /);
  const body = (await answer.json()) as { openPayments?: unknown };
  stranger.child.kill('SIGTERM');
  await stranger.exited;
  return { openPayments: body.openPayments !== undefined };
}
