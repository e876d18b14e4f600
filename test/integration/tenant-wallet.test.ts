// codiusd's client side of a tenant's wallet, in this process, against the stand-in Open Payments provider
// (requests and answers validated against the published specs, signatures verified): read the wallet,
// quote, ask consent with an interval limit, continue after the consent page, pay, rotate and revoke.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createTenantWallets, WalletRefused } from '../../src/checkout/tenant-wallet.js';
import { lazyOpenPaymentsClient } from '../../src/payments/open-payments/client.js';
import { openPaymentsKey } from '../helpers/open-payments/payer.js';
import { startFakeProvider } from '../helpers/open-payments/provider.js';

const provider = await startFakeProvider();
const hostKey = openPaymentsKey();
const host = provider.wallet('wallet-host', {
  assetCode: 'XRP',
  assetScale: 9,
  keys: [hostKey.jwk],
});
const tenant = provider.wallet('wallet-tenant', { assetCode: 'XRP', assetScale: 9, balance: 1_000_000n });
const client = lazyOpenPaymentsClient({
  walletAddressUrl: host.id,
  privateKey: hostKey.privateKey,
  keyId: hostKey.keyId,
  useHttp: true,
});
const wallets = createTenantWallets(client, true);

/** An incoming payment on the host's wallet, made the way a provider's own API would. */
async function incomingPayment(value: bigint): Promise<string> {
  const op = await client();
  const grant = await op.grant.request(
    { url: `${provider.base}/auth` },
    {
      access_token: {
        access: [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: host.id }],
      },
    },
  );
  assert.ok('access_token' in grant && grant.access_token);
  const created = await op.incomingPayment.create(
    { url: `${provider.base}/rs`, accessToken: grant.access_token.value },
    { walletAddress: host.id, incomingAmount: { value: value.toString(), assetCode: 'XRP', assetScale: 9 } },
  );
  return created.id;
}

describe("a tenant's wallet, as the host reaches it", () => {
  it('quotes, gets consent for one payment per interval, pays, rotates and revokes', async () => {
    const wallet = await wallets.resolve(tenant.id);
    assert.deepEqual([wallet.id, wallet.assetCode, wallet.assetScale], [tenant.id, 'XRP', 9]);
    const receiver = await incomingPayment(1000n);
    const quote = await wallets.quote(wallet, receiver);
    assert.equal(quote.debitAmount.value, '1000');
    const nonce = randomUUID();
    const interval = `R/${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}/PT600S`;
    const consent = await wallets.askConsent(
      wallet,
      quote.debitAmount,
      { uri: 'http://127.0.0.1:9/finish', nonce },
      interval,
    );
    const grant = [...provider.grants.values()].at(-1);
    assert.deepEqual(grant?.access[0]?.limits, { debitAmount: quote.debitAmount, interval });
    // The consent page approves at once and sends the browser to the finish URI.
    const back = await fetch(consent.redirect, { redirect: 'manual' });
    const finish = new URL(back.headers.get('location') ?? '');
    const interactRef = finish.searchParams.get('interact_ref') ?? '';
    const expected = createHash('sha256')
      .update(`${nonce}\n${consent.serverNonce}\n${interactRef}\n${wallet.authServer}`)
      .digest('base64');
    assert.equal(finish.searchParams.get('hash'), expected);
    const token = await wallets.continueGrant(consent, interactRef);
    const payment = await wallets.pay(wallet, token.value, quote.id);
    assert.deepEqual([payment.failed, payment.sent], [false, 1000n]);
    assert.equal(tenant.balance, 999_000n);

    const rotated = await wallets.rotate(token);
    assert.notEqual(rotated.value, token.value);
    const second = await wallets.quote(wallet, await incomingPayment(1000n));
    await assert.rejects(
      wallets.pay(wallet, rotated.value, second.id),
      { status: 403 },
      'one payment per interval',
    );
    await wallets.revoke(rotated);
    await assert.rejects(wallets.rotate(rotated), { status: 401 });
  });

  it('refuses wallets it must not contact, and says when none answers', async () => {
    await assert.rejects(wallets.resolve('http://192.168.1.10/alice'), WalletRefused);
    await assert.rejects(createTenantWallets(client, false).resolve(tenant.id), /is not https/);
    await assert.rejects(wallets.resolve(`${provider.base}/wallets/nobody`), { status: 404 });
  });
});
