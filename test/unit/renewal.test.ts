import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createGrantSeal } from '../../src/checkout/grant-seal.js';
import { createRenewalService, renewalDueAt } from '../../src/checkout/renewal-service.js';
import type { TenantWallet, TenantWallets } from '../../src/checkout/tenant-wallet.js';
import { CodiusError } from '../../src/domain/errors.js';
import { openStore } from '../../src/store/store.js';
import type { UploadService } from '../../src/uploads/upload-service.js';
import { capturingLogger } from '../helpers/logs.js';
import { createHttpServer } from '../../src/http/server.js';
import { renewalRoutes } from '../../src/http/routes/renewal.js';

const HASH = 'a'.repeat(52);
const WALLET: TenantWallet = {
  id: 'https://wallet.example/alice',
  assetCode: 'XRP',
  assetScale: 9,
  authServer: 'https://auth.wallet.example',
  resourceServer: 'https://wallet.example',
};
const GRANT = { value: 'token-1', manage: 'https://auth.wallet.example/token/1' };
const failure = (status: number) => Object.assign(new Error(`status ${status}`), { status });

/** A host whose pod is extended once paid, and a wallet whose answers a test chooses. */
async function setup(
  wallet: { pay?: () => Promise<never>; rotate?: () => Promise<never>; failed?: boolean } = {},
) {
  const store = await openStore({ root: '', inMemory: true });
  let time = 1_000_000;
  let expiry = time + 20_000;
  let paid = false;
  const calls: string[] = [];
  const outcomes: string[] = [];
  const pod = { gone: false, down: false };
  const uploads: Pick<UploadService, 'upload' | 'extend'> = {
    upload: () => Promise.reject(new Error('no uploads here')),
    extend: () => {
      if (pod.gone) return Promise.reject(new CodiusError('pod_not_found', { hash: HASH }));
      if (pod.down) return Promise.reject(new CodiusError('runtime_not_ready', {}));
      if (!paid) {
        const openPayments = {
          incomingPayment: 'https://host/incoming/1',
          expiresAt: new Date(time + 60_000).toISOString(),
        };
        return Promise.reject(new CodiusError('payment_required', { offers: [{ body: { openPayments } }] }));
      }
      paid = false;
      expiry += 20_000;
      return Promise.resolve({ url: 'u', manifestHash: HASH, expiry: new Date(expiry).toISOString() });
    },
  };
  const wallets: TenantWallets = {
    resolve: () => Promise.resolve(WALLET),
    quote: () => {
      const amount = { value: '76104', assetCode: 'XRP', assetScale: 9 };
      return Promise.resolve({ id: 'q', debitAmount: amount, receiveAmount: amount, expiresAt: null });
    },
    askConsent: () => Promise.reject(new Error('not here')),
    continueGrant: () => Promise.reject(new Error('not here')),
    pay: (_w, token) => {
      calls.push(`pay with ${token}`);
      if (wallet.pay && token === GRANT.value) return wallet.pay();
      paid = !wallet.failed;
      return Promise.resolve({ id: 'o', failed: wallet.failed ?? false, sent: 76104n });
    },
    rotate: (grant) => {
      calls.push(`rotate ${grant.value}`);
      return wallet.rotate ? wallet.rotate() : Promise.resolve({ value: 'token-2', manage: grant.manage });
    },
    revoke: (grant) => {
      calls.push(`revoke ${grant.value}`);
      return Promise.resolve();
    },
  };
  const seal = createGrantSeal(randomBytes(32));
  const service = createRenewalService({
    renewals: store.renewals,
    uploads,
    wallets,
    seal,
    logger: capturingLogger().logger,
    onRenewal: (outcome) => outcomes.push(outcome),
    now: () => time,
  });
  const { stopKey } = await service.begin({
    hash: HASH,
    wallet: WALLET,
    grant: GRANT,
    durationSeconds: 20,
    interval: 'R/2026-12-05T00:00:00Z/PT20S',
    expiry: new Date(expiry).toISOString(),
  });
  const due = async () => {
    time = (await store.renewals.get(HASH))?.nextAt ?? time;
    await service.runDue();
  };
  return { store, service, calls, outcomes, pod, stopKey, seal, due, expiry: () => expiry };
}

describe('renewals', () => {
  it('renews when due: pays the host’s offer with the grant, extends, and is due again a margin before expiry', async () => {
    const { store, service, calls, outcomes, due, expiry } = await setup();
    const stored = await store.renewals.get(HASH);
    assert.equal(stored?.nextAt, renewalDueAt(expiry(), 20), 'half a short period before expiry');
    assert.ok(!stored.grantSealed.includes(GRANT.value), 'the token is sealed in the store');
    await service.runDue();
    assert.deepEqual(calls, [], 'nothing is due yet');
    await due();
    await due();
    assert.deepEqual(calls, ['pay with token-1', 'pay with token-1']);
    assert.deepEqual(outcomes, ['renewed', 'renewed']);
    const view = await service.view(HASH);
    assert.equal(view?.renewed, 2);
    assert.equal(view.nextAt, new Date(renewalDueAt(expiry(), 20)).toISOString());
    assert.equal(view.walletAddress, WALLET.id);
  });

  it('rotates an expired token once and keeps the new one', async () => {
    const { store, seal, calls, due } = await setup({ pay: () => Promise.reject(failure(401)) });
    await due();
    assert.deepEqual(calls, ['pay with token-1', 'rotate token-1', 'pay with token-2']);
    const stored = await store.renewals.get(HASH);
    assert.equal(seal.open(HASH, stored?.grantSealed ?? '').value, 'token-2');
    assert.throws(() => seal.open('b'.repeat(52), stored?.grantSealed ?? ''), 'sealed to its manifest');
  });

  it('stops for good when the grant is revoked or spent, a payment fails or the pod is gone', async () => {
    const cases = [
      [
        { pay: () => Promise.reject(failure(401)), rotate: () => Promise.reject(failure(401)) },
        'the tenant revoked the grant',
      ],
      [{ pay: () => Promise.reject(failure(403)) }, "the grant's limit is spent"],
      [{ failed: true }, 'the wallet could not pay'],
    ] as const;
    for (const [wallet, reason] of cases) {
      const { service, outcomes, due } = await setup(wallet);
      await due();
      assert.deepEqual(await service.view(HASH).then((v) => [v?.active, v?.stopReason]), [false, reason]);
      assert.deepEqual(outcomes, ['stopped']);
    }
    const { service, pod, due } = await setup();
    pod.gone = true;
    await due();
    assert.equal((await service.view(HASH))?.stopReason, 'the pod is gone');
  });

  it('tries again later when the host or the wallet cannot take part now', async () => {
    const { store, outcomes, pod, due } = await setup({ pay: () => Promise.reject(failure(503)) });
    const before = (await store.renewals.get(HASH))?.nextAt ?? 0;
    await due();
    assert.deepEqual(outcomes, ['retry']);
    assert.equal((await store.renewals.get(HASH))?.nextAt, before + 15_000);
    pod.down = true;
    await due();
    assert.deepEqual(outcomes, ['retry', 'retry']);
    assert.equal((await store.renewals.get(HASH))?.active, true);
  });

  it('stops from the tenant’s link and revokes the grant; an unknown link changes nothing', async () => {
    const { service, calls, stopKey } = await setup();
    assert.equal((await service.byStopKey(stopKey))?.view.active, true);
    assert.equal(await service.stopByKey('nope'), false);
    assert.equal(await service.stopByKey(stopKey), true);
    assert.deepEqual(calls, ['revoke token-1']);
    assert.deepEqual(await service.view(HASH).then((v) => [v?.active, v?.stopReason, v?.nextAt]), [
      false,
      'stopped by the tenant',
      null,
    ]);
    assert.equal(await service.stopByKey(stopKey), true, 'stopping twice is no error');
    assert.equal(calls.length, 1);
  });
});

describe('the renewal stop link', () => {
  it('shows the renewal, stops it from its own page only, and says so for an unknown key', async () => {
    const { service, stopKey, calls } = await setup();
    const app = createHttpServer({ host: '127.0.0.1', port: 0, logger: capturingLogger().logger });
    app.route(renewalRoutes('https://codius.example.com', service));
    const shown = await app.inject({ method: 'GET', url: `/deploy/renewal/${stopKey}` });
    assert.equal(shown.statusCode, 200);
    assert.match(shown.payload, /Active: next renewal at/);
    assert.match(String(shown.headers['content-security-policy']), /default-src 'none'/);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const crossSite = await app.inject({
      method: 'POST',
      url: `/deploy/renewal/${stopKey}`,
      headers: { ...form, 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(crossSite.statusCode, 403);
    assert.deepEqual(calls, [], 'another site cannot stop it');
    const stopped = await app.inject({
      method: 'POST',
      url: `/deploy/renewal/${stopKey}`,
      headers: { ...form, 'sec-fetch-site': 'same-origin' },
    });
    assert.match(stopped.payload, /Stopped \(stopped by the tenant\) after 0 renewals/);
    for (const method of ['GET', 'POST'] as const) {
      const unknown = await app.inject({ method, url: '/deploy/renewal/unknown', headers: form });
      assert.equal(unknown.statusCode, 404);
    }
  });
});
