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
clock = NOW;

function services(overrides: Partial<AdminServices> = {}): Promise<AdminServices> {
  const logs = capturingLogger();
  return loadPriceSetting(store.kv, '10', logs.logger).then((price) => ({
    pods: { list: () => store.pods.list(), get: (hash) => store.pods.get(hash) },
    podBalance: (hash) =>
      Promise.resolve(hash === HASH ? { amount: '42', assetCode: 'XRP', assetScale: 9 } : null),
    ledger: store.ledger,
    asset: () => XRP,
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
    publicUri: 'https://codius.example.com',
    logger: logs.logger,
    now: () => clock,
    ...overrides,
  }));
}

const admin = createAdminApi({ host: '127.0.0.1', port: 0, token: null }, await services());
const get = async (url: string, headers: Record<string, string> = {}) => {
  const response = await admin.inject({ method: 'GET', url, headers });
  return { status: response.statusCode, json: () => JSON.parse(response.payload) as unknown, response };
};

describe('admin API: the original routes', () => {
  it('GET /getPods lists the running pods only', async () => {
    assert.deepEqual((await get('/getPods')).json(), { running: [HASH] });
  });

  it("GET /getPodInfo answers the original's PodInfo, 400 without id, 404 for an unknown one", async () => {
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
      aggregate_earnings: { XRP: '0.000012612' },
    });
  });

  it('POST /config keeps the price; 0 leaves it; other keys are 400 "Invalid request payload"', async () => {
    const post = (payload: unknown) =>
      admin.inject({ method: 'POST', url: '/config', payload: payload as object });
    assert.equal((await post({ hostCostPerMonth: 0.0000001 })).statusCode, 204);
    const reloaded = await services();
    assert.equal(reloaded.price.current(), '0.0000001', 'survives a restart (read again from the store)');
    assert.equal((await post({ hostCostPerMonth: 0 })).statusCode, 204);
    assert.equal((await services()).price.current(), '0.0000001', '0 is ignored as by the original');
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
    const page = await get('/', { accept: 'text/html,application/xhtml+xml' });
    assert.match(String(page.response.headers['content-type']), /^text\/html/);
    assert.match(String(page.response.headers['content-security-policy']), /script-src 'self'/);
    assert.match(page.response.payload, new RegExp(`data-hash="${HASH}"`));
    for (const asset of ['uPlot.iife.min.js', 'uPlot.min.css', 'dashboard.js', 'dashboard.css']) {
      const response = await get(`/assets/${asset}`);
      assert.equal(response.status, 200, asset);
      assert.ok(response.response.payload.length > 100, asset);
    }
  });
});

describe('admin API: JSON for the operator', () => {
  it('GET /api/money: received = earned + credit per asset code, in base units', async () => {
    const money = (await get('/api/money')).json() as Record<string, Record<string, unknown>>;
    assert.deepEqual(money, {
      XRP: { assetScale: 9, received: '13612', earned: '12612', credit: '1000' },
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
    assert.deepEqual(settings.asset, XRP);
    assert.equal((settings.selfTest as SelfTestView).selfTestSuccess, true);
    const activity = (await get('/api/activity')).json() as Record<string, unknown>;
    assert.equal(activity.uploads, 0);
  });

  it('GET /metrics is Prometheus text', async () => {
    const metrics = await get('/metrics');
    assert.match(String(metrics.response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.response.payload, /^codiusd_process_cpu_user_seconds_total \d/m);
  });
});

const token = 'an-admin-token-of-some-length';
const guarded = createAdminApi({ host: '127.0.0.1', port: 0, token }, await services());

describe('admin API with a token', () => {
  const status = async (headers: Record<string, string>, url = '/getPods') =>
    (await guarded.inject({ method: 'GET', url, headers })).statusCode;

  it('needs the token on every route, as bearer or as the basic-auth password', async () => {
    const refused = await guarded.inject({ method: 'GET', url: '/metrics' });
    assert.equal(refused.statusCode, 401);
    assert.match(String(refused.headers['www-authenticate']), /^Basic realm="codiusd admin"/);
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
  });
});
