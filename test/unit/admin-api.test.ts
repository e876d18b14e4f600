import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createAdminApi } from '../../src/admin/admin-api.js';
import type { AdminServices, SelfTestView } from '../../src/admin/admin-services.js';
import type { HostAsset, PodRecord } from '../../src/domain/types.js';
import { loadPriceSetting } from '../../src/host/price-setting.js';
import { createHostMetrics } from '../../src/metrics/host-metrics.js';
import { lateBoundSources } from '../../src/metrics/late-sources.js';
import { openStore } from '../../src/store/store.js';
import { capturingLogger } from '../helpers/logs.js';

const XRP: HostAsset = { code: 'XRP', scale: 9 };
const HASH = 'a'.repeat(51) + 'q';
const OTHER = 'b'.repeat(51) + 'a';
const NOW = Date.parse('2026-12-01T12:00:00Z');

let clock = NOW;
const store = await openStore({ root: '', inMemory: true, now: () => clock });
after(() => store.close());

const pod = (hash: string, state: PodRecord['state'], extra: Partial<PodRecord> = {}): PodRecord => ({
  hash,
  state,
  startedAt: NOW - 60_000,
  expiresAt: NOW + 540_000,
  memoryMiB: 512,
  totalUptimeSeconds: 600,
  port: 3000,
  ip: '10.89.0.7',
  ...extra,
});
await store.pods.save(pod(HASH, 'running'));
await store.pods.save(pod(OTHER, 'starting', { port: null, ip: null, totalUptimeSeconds: 300 }));

// Money: 7612 at scale 9 earned, 1000 at scale 9 kept as credit, and 5 at scale 6 (a provider that changed
// its scale) earned: shown at scale 9 as 5000.
clock = NOW - 2 * 3_600_000;
const line = { manifestHash: HASH, payTokenHash: null, purpose: 'upload' as const };
await store.ledger.append({ ...line, amount: '7612', credit: '0', assetCode: 'XRP', assetScale: 9 });
clock = NOW - 30 * 60_000;
await store.ledger.append({ ...line, amount: '1000', credit: '1000', assetCode: 'XRP', assetScale: 9 });
await store.ledger.append({ ...line, amount: '5', credit: '0', assetCode: 'XRP', assetScale: 6 });
// 2.50 USD paid into the host's wallet while it was in USD; it is in EUR now.
await store.ledger.append({
  ...line,
  amount: '250',
  credit: '0',
  assetCode: 'USD',
  assetScale: 2,
  method: 'open-payments',
  paymentRef: 'https://wallet.example/incoming-payments/1',
});
clock = NOW;

const CERTIFICATE = {
  name: 'codius.example.com',
  kind: 'host' as const,
  source: 'acme' as const,
  names: ['codius.example.com', '*.codius.example.com'],
  notAfter: '2027-03-01T00:00:00.000Z',
  renewAt: '2027-01-30T00:00:00.000Z',
  failures: 1,
  lastError: 'ACME order failed: rate limited',
};

function services(overrides: Partial<AdminServices> = {}): Promise<AdminServices> {
  const logs = capturingLogger();
  return loadPriceSetting(store.kv, '10', logs.logger).then((price) => ({
    pods: { list: () => store.pods.list(), get: (hash) => store.pods.get(hash) },
    podBalance: (hash) =>
      Promise.resolve(hash === HASH ? { amount: '42', assetCode: 'XRP', assetScale: 9 } : null),
    ledger: store.ledger,
    asset: () => XRP,
    paymentMethods: () => [
      { method: 'stream', asset: XRP, costPerMonth: '10' },
      { method: 'open-payments', asset: { code: 'EUR', scale: 2 }, costPerMonth: '5' },
    ],
    price,
    peers: store.peers,
    metrics: createHostMetrics(lateBoundSources().sources),
    selfTest: (): SelfTestView => ({
      selfTestSuccess: true,
      uploadSuccess: true,
      httpSuccess: true,
      wsSuccess: true,
      running: false,
      finishedAt: NOW,
      failure: null,
    }),
    settings: () => ({ runtime: 'podman' }),
    certificates: () => [CERTIFICATE],
    renewalsActive: () => Promise.resolve(2),
    publicUri: 'https://codius.example.com',
    logger: logs.logger,
    now: () => clock,
    ...overrides,
  }));
}

const token = 'an-admin-token-of-some-length';
const bearer = { authorization: `Bearer ${token}`, host: '127.0.0.1:3001' };
const admin = createAdminApi({ host: '127.0.0.1', port: 0, token, hostnames: [] }, await services());
const get = async (url: string, headers: Record<string, string> = {}) => {
  const response = await admin.inject({ method: 'GET', url, headers: { ...bearer, ...headers } });
  return { status: response.statusCode, json: () => JSON.parse(response.payload) as unknown, response };
};

describe('admin API: the routes codiusd-gui calls', () => {
  it('GET /getPods lists the running pods only', async () => {
    assert.deepEqual((await get('/getPods')).json(), { running: [HASH] });
  });

  it('GET /getPodInfo answers PodInfo, 400 without id, 404 for an unknown one', async () => {
    assert.deepEqual((await get(`/getPodInfo?id=${HASH.toUpperCase()}`)).json(), {
      id: HASH,
      running: true,
      start: new Date(NOW - 60_000).toISOString(),
      expiry: new Date(NOW + 540_000).toISOString(),
      memory: 512,
      totalUptime: 600,
      port: 3000,
      ip: '10.89.0.7',
    });
    const starting = (await get(`/getPodInfo?id=${OTHER}`)).json() as Record<string, unknown>;
    assert.equal(starting.running, false);
    assert.ok(!('port' in starting) && !('ip' in starting));
    const missing = await get('/getPodInfo');
    assert.equal(missing.status, 400);
    assert.equal((missing.json() as { message: string }).message, 'missing manifestHash');
    assert.equal((await get(`/getPodInfo?id=${'c'.repeat(52)}`)).status, 404);
  });

  it('GET /getAllUptime sums uptime and earnings in whole units, exactly', async () => {
    assert.deepEqual((await get('/getAllUptime')).json(), {
      aggregate_pod_uptime: '900',
      // 7612 + 5000 earned at scale 9; the 1000 of credit is not earned.
      aggregate_earnings: { XRP: '0.000012612', EUR: '0', USD: '2.5' },
    });
  });

  it('POST /config keeps the price; 0 leaves it; other keys are 400 "Invalid request payload"', async () => {
    const post = (payload: unknown) =>
      admin.inject({
        method: 'POST',
        url: '/config',
        payload: payload as object,
        headers: { ...bearer, 'content-type': 'application/json' },
      });
    assert.equal((await post({ hostCostPerMonth: 0.0000001 })).statusCode, 204);
    const reloaded = await services();
    assert.equal(reloaded.price.current(), '0.0000001', 'survives a restart (read again from the store)');
    assert.equal((await post({ hostCostPerMonth: 0 })).statusCode, 204);
    assert.equal((await services()).price.current(), '0.0000001', '0 leaves the price unchanged');
    const bad = await post({ hostCostPerMonth: 5, currency: 'XRP' });
    assert.equal(bad.statusCode, 400);
    assert.equal((JSON.parse(bad.payload) as { message: string }).message, 'Invalid request payload');
    assert.equal((await post({ hostCostPerMonth: -1 })).statusCode, 400);
    assert.equal((await post({ hostCostPerMonth: 12 })).statusCode, 204);
    assert.equal((await services()).price.current(), '12');
    // An operator who edits the configuration afterwards is the newer decision.
    const logs = capturingLogger();
    const edited = await loadPriceSetting(store.kv, '20', logs.logger);
    assert.equal(edited.current(), '20');
    assert.equal(edited.source(), 'configuration');
    assert.match(logs.text(), /CODIUS_COST_PER_MONTH changed/);
  });

  it('answers any other GET with the greeting, and / with the dashboard for browsers', async () => {
    const greeting = { test: 'This shows that you are running the Codiusd Admin API.' };
    assert.deepEqual((await get('/whatever/else')).json(), greeting);
    assert.deepEqual((await get('/')).json(), greeting);
    // The page and its assets hold no data: a browser loads them without the token, then asks for it.
    const page = await admin.inject({
      method: 'GET',
      url: '/',
      headers: { host: '127.0.0.1:3001', accept: 'text/html,application/xhtml+xml' },
    });
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.doesNotMatch(page.payload, new RegExp(HASH));
    assert.match(page.payload, /<input id="token" name="token" type="password"/);
    for (const asset of ['uPlot.iife.min.js', 'uPlot.min.css', 'dashboard.js', 'dashboard.css']) {
      const response = await admin.inject({
        method: 'GET',
        url: `/assets/${asset}`,
        headers: { host: 'localhost:3001' },
      });
      assert.equal(response.statusCode, 200, asset);
      assert.ok(response.payload.length > 100, asset);
    }
    for (const asset of ['dashboard.js']) {
      const response = await get(`/assets/${asset}`);
      assert.equal(response.status, 200, asset);
      assert.ok(response.response.payload.length > 100, asset);
    }
  });
});

describe('admin API: JSON for the operator', () => {
  it('GET /api/money: received = earned + credit per asset code, and what each method brought', async () => {
    const money = (await get('/api/money')).json() as Record<string, Record<string, unknown>>;
    assert.deepEqual(money, {
      XRP: {
        assetScale: 9,
        received: '13612',
        earned: '12612',
        credit: '1000',
        methods: { stream: '13612' },
      },
      EUR: { assetScale: 2, received: '0', earned: '0', credit: '0', methods: {} },
      USD: {
        assetScale: 2,
        received: '250',
        earned: '250',
        credit: '0',
        methods: { 'open-payments': '250' },
      },
    });
  });

  it('GET /api/pods: state, expiry, memory, address and ILP balance', async () => {
    const { pods } = (await get('/api/pods')).json() as { pods: Array<Record<string, unknown>> };
    const first = pods.find((p) => p.manifestHash === HASH);
    assert.deepEqual(first, {
      manifestHash: HASH,
      url: `https://${HASH}.codius.example.com/`,
      state: 'running',
      startedAt: new Date(NOW - 60_000).toISOString(),
      expiry: new Date(NOW + 540_000).toISOString(),
      secondsLeft: 540,
      memoryMiB: 512,
      totalUptimeSeconds: 600,
      port: 3000,
      address: '10.89.0.7',
      ilpBalance: { amount: '42', assetCode: 'XRP', assetScale: 9 },
    });
    assert.equal(pods.find((p) => p.manifestHash === OTHER)?.ilpBalance, null);
  });

  it('GET /api/earnings: hourly buckets over the period, every bucket present', async () => {
    const earnings = (await get('/api/earnings?hours=3&bucketMinutes=60')).json() as {
      buckets: Array<{ at: number; earned: Record<string, string>; received: Record<string, string> }>;
    };
    assert.equal(earnings.buckets.length, 3);
    assert.deepEqual(
      earnings.buckets.map((b) => b.earned.XRP),
      ['0', '7612', '5000'],
    );
    assert.deepEqual(
      earnings.buckets.map((b) => b.received.XRP),
      ['0', '7612', '6000'],
    );
    assert.equal((await get('/api/earnings?hours=0')).status, 400);
    assert.equal((await get('/api/earnings?bucketMinutes=x')).status, 400);
  });

  it('GET /api/peers, /api/settings, /api/activity', async () => {
    await store.peers.add('https://peer-a.example');
    await store.peers.add('https://peer-b.example');
    await store.peers.recordSuccess('https://peer-b.example');
    const peers = (await get('/api/peers')).json() as { count: number; peers: Array<{ uri: string }> };
    assert.equal(peers.count, 2);
    assert.equal(peers.peers[0]?.uri, 'https://peer-b.example', 'recently seen peers first');
    const settings = (await get('/api/settings')).json() as Record<string, unknown>;
    assert.equal(settings.runtime, 'podman');
    assert.equal(settings.renewalsActive, 2);
    assert.deepEqual(settings.asset, XRP);
    assert.deepEqual(settings.paymentMethods, [
      { method: 'stream', assetCode: 'XRP', assetScale: 9, costPerMonth: '10' },
      { method: 'open-payments', assetCode: 'EUR', assetScale: 2, costPerMonth: '5' },
    ]);
    assert.equal((settings.selfTest as SelfTestView).selfTestSuccess, true);
    const activity = (await get('/api/activity')).json() as Record<string, unknown>;
    assert.equal(activity.uploads, 0);
    const certificates = (await get('/api/certificates')).json() as { certificates: unknown[] };
    assert.deepEqual(certificates.certificates, [CERTIFICATE]);
  });

  it('GET /metrics is Prometheus text', async () => {
    const metrics = await get('/metrics');
    assert.match(String(metrics.response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.response.payload, /^codiusd_process_cpu_user_seconds_total \d/m);
  });
});

describe('admin API guards', () => {
  const request = (options: {
    method?: string;
    url?: string;
    headers?: Record<string, string>;
    payload?: string;
  }) =>
    admin.inject({
      method: options.method ?? 'GET',
      url: options.url ?? '/getPods',
      headers: options.headers ?? {},
      ...(options.payload === undefined ? {} : { payload: options.payload }),
    });

  it('needs the token on every route, as bearer or as the basic-auth password, without a browser challenge', async () => {
    const status = async (headers: Record<string, string>, url = '/getPods') =>
      (await request({ url, headers: { host: '127.0.0.1:3001', ...headers } })).statusCode;
    const refused = await request({ url: '/metrics', headers: { host: '127.0.0.1:3001' } });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers['www-authenticate'], undefined, 'a browser would keep basic credentials');
    assert.ok(!refused.payload.includes(token));
    assert.equal(await status({ authorization: 'Bearer wrong-token-of-some-length' }), 401);
    assert.equal(await status({ authorization: 'Bearer' }), 401);
    assert.equal(await status({ authorization: 'Digest abc' }), 401);
    assert.equal(await status({ authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }), 401);
    assert.equal(await status({ authorization: `Bearer ${token}` }), 200);
    assert.equal(
      await status({ authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` }),
      200,
    );
    assert.equal(await status({ authorization: `Bearer ${token}` }, '/'), 200);
    assert.equal(await status({}, '/'), 401, 'the greeting for programs needs it too');
  });

  it('answers only to its own addresses, localhost and configured names (no DNS rebinding)', async () => {
    for (const host of ['127.0.0.1:3001', 'localhost:3001', '[::1]:3001', '10.0.0.5:3001']) {
      assert.equal((await request({ headers: { ...bearer, host } })).statusCode, 200, host);
    }
    const rebound = await request({ headers: { ...bearer, host: 'attacker.example:3001' } });
    assert.equal(rebound.statusCode, 421);
    assert.match(rebound.payload, /answers only to its own addresses, localhost and CODIUS_ADMIN_HOSTS/);
    assert.equal(
      (await request({ headers: { authorization: bearer.authorization, host: '' } })).statusCode,
      421,
    );
    const named = createAdminApi(
      { host: '0.0.0.0', port: 0, token, hostnames: ['admin.example.com'] },
      await services(),
    );
    const answer = await named.inject({
      method: 'GET',
      url: '/getPods',
      headers: { ...bearer, host: 'Admin.Example.com' },
    });
    assert.equal(answer.statusCode, 200);
  });

  it('takes changes only as JSON and never from another site, token or not', async () => {
    const change = (headers: Record<string, string>) =>
      request({
        method: 'POST',
        url: '/config',
        headers: { ...bearer, ...headers },
        payload: '{"hostCostPerMonth":1e-9}',
      });
    // What a page of another site can send without asking first: no type, or a form's.
    const untyped = await change({});
    assert.equal(untyped.statusCode, 415);
    assert.match(untyped.payload, /Content-Type: application\/json/);
    assert.equal((await change({ 'content-type': 'text/plain' })).statusCode, 415);
    assert.equal((await change({ 'content-type': 'application/x-www-form-urlencoded' })).statusCode, 415);
    const json = { 'content-type': 'application/json' };
    assert.equal((await change({ ...json, 'sec-fetch-site': 'cross-site' })).statusCode, 403);
    assert.equal((await change({ ...json, 'sec-fetch-site': 'same-site' })).statusCode, 403);
    assert.equal((await change({ ...json, origin: 'http://attacker.example' })).statusCode, 403);
    assert.equal((await change({ ...json, origin: 'http://127.0.0.1:9999' })).statusCode, 403);
    assert.equal((await change({ ...json, origin: 'null' })).statusCode, 403);
    assert.equal((await services()).price.current() === '0.000000001', false, 'nothing was stored');
    // The dashboard's own page, and a program (no Origin, no Sec-Fetch-Site).
    const own = await change({ ...json, origin: 'http://127.0.0.1:3001', 'sec-fetch-site': 'same-origin' });
    assert.equal(own.statusCode, 204);
    assert.equal((await change({ ...json })).statusCode, 204);
  });
});
