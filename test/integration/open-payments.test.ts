// Paid into the host's wallet with Open Payments, end to end: a real bin/codiusd with real Podman pods and
// a real `moneyd local` beside it, and a stand-in account provider (no real one runs here) that validates
// every request and response against the Open Payments specs and verifies every signature. Payers pay
// with the official client through consent pages, as a wallet app does.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hashManifest } from '../../src/manifest/hash.js';
import { writeOpenPaymentsKey } from '../../src/payments/open-payments/keygen.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { openStore, STORE_FILE } from '../../src/store/store.js';
import { freePort, startDaemon } from '../helpers/daemon.js';
import {
  newToken,
  offerOf,
  PRICE_600,
  startPaidHost,
  testManifest,
} from '../helpers/open-payments/paid-host.js';
import { createPayer } from '../helpers/open-payments/payer.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const host = await startPaidHost();
const { provider, fixture, root, hostWallet, send, viaProxy } = host;
const alice = await createPayer(provider, 'alice', 100n * PRICE_600);
const manifest = (name: string) => testManifest(fixture, name);

/** The manifest's ledger lines, read from the store while the daemon is stopped. */
async function ledger(hash: string) {
  const lines = await host.restart('SIGTERM', async () => {
    const store = await openStore({ root, inMemory: false });
    try {
      return await store.ledger.listForManifest(hash);
    } finally {
      await store.close();
    }
  });
  return (lines ?? []).map((l) => ({
    purpose: l.purpose,
    amount: l.amount,
    credit: l.credit,
    method: l.method,
    ref: l.paymentRef,
  }));
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
    await host.restart('SIGKILL');
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
      return host.hostKeyId;
    });
    assert.equal(forged.openPayments, false);
    assert.ok(
      provider.refusals.some((r) => /401 invalid signature/.test(r)),
      provider.refusals.join('\n'),
    );
  });

  it('shows the money per method: /api/money and /metrics agree with the ledger', async (t) => {
    const lines =
      (await host.restart('SIGTERM', async () => {
        const db = await openDatabase(join(root, STORE_FILE));
        try {
          return await db.all<{ method: string; amount: string }>('SELECT method, amount FROM ledger');
        } finally {
          await db.close();
        }
      })) ?? [];
    const received = (method: string) =>
      lines.filter((l) => l.method === method).reduce((sum, l) => sum + BigInt(l.amount), 0n);
    const viaOpenPayments = received('open-payments');
    t.diagnostic(
      `paid into the host wallet ${hostWallet.balance}; booked: open-payments ${viaOpenPayments} in ${lines.filter((l) => l.method === 'open-payments' && l.amount !== '0').length} payments, stream ${received('stream')}`,
    );
    // Every unit paid into the host's wallet is booked, and nothing else.
    assert.equal(hostWallet.balance, viaOpenPayments, 'paid into the wallet = booked');
    assert.ok(viaOpenPayments > 5n * PRICE_600);
    const money = (await (await host.admin('/api/money')).json()) as Record<
      string,
      { received: string; methods: Record<string, string> }
    >;
    assert.equal(money.XRP?.methods['open-payments'], viaOpenPayments.toString());
    assert.equal(money.XRP.received, (received('open-payments') + received('stream')).toString());
    const metrics = await (await host.admin('/metrics')).text();
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
    ...host.env,
    CODIUS_ROOT: other,
    CODIUS_PORT: String(await freePort()),
    CODIUS_ADMIN_API: 'false',
    CODIUS_OPEN_PAYMENTS_KEY_ID: keyId,
    CODIUS_OPEN_PAYMENTS_PRIVATE_KEY: file,
  });
  after(() => stranger.child.kill('SIGKILL'));
  await host.untilTakingOpenPayments(stranger.url);
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
