import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { MachineProbe } from '../../src/host/host-info.js';
import { createHttpServer } from '../../src/http/server.js';
import { escapeHtml, formatBytes, formatDuration } from '../../src/http/status-page.js';
import { hashManifest } from '../../src/manifest/hash.js';
import { openStore } from '../../src/store/store.js';
import { VERSION } from '../../src/version.js';
import { freePort } from '../helpers/daemon.js';
import { capturingLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const GiB = 2 ** 30;
const machine: MachineProbe = {
  totalmem: () => 8 * GiB,
  uptime: () => 12345.5,
  loadavg: () => [1, 0.5, 0.25],
  cpuCount: () => 4,
};

async function startApp(
  env: Record<string, string>,
  root: string,
  logLevel: 'info' | 'debug' = 'info',
): Promise<{ app: App; url: string; logs: ReturnType<typeof capturingLogger> }> {
  // The no-op runtime: these tests are about the host endpoints, not about running pods.
  const config = {
    ...loadConfig({
      CODIUS_ROOT: root,
      CODIUS_RUNTIME: 'hyperd',
      CODIUS_HYPER_NOOP: 'true',
      // Only loopback traffic in tests: no bootstrap hosts, and the seeded peers are never contacted.
      CODIUS_BOOTSTRAP_PEERS: '[]',
      CODIUS_PEER_DISCOVERY_INTERVAL: '86400',
      // A closed port: no ILP provider, and no embedded moneyd even in dev mode (this is the fast tier).
      ILP_BTP_SERVER: `btp+ws://127.0.0.1:${await freePort()}`,
      ...env,
    }),
    port: 0,
  };
  const logs = capturingLogger(logLevel);
  const app = createApp({ config, logger: logs.logger, machine });
  await app.start();
  return { app, url: app.listeningUrl(), logs };
}

describe('public HTTP endpoints', () => {
  let root: string;
  let app: App;
  let url: string;
  let logs: ReturnType<typeof capturingLogger>;

  before(async () => {
    root = await tempDir();
    // Pods and peers written by an earlier run of the daemon.
    const store = await openStore({ root, inMemory: false });
    const manifest = {
      name: 'paid',
      version: '1.0.0',
      containers: [
        {
          id: 'app',
          image:
            'docker.io/library/busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        },
      ],
    };
    const hash = hashManifest(manifest);
    await store.pods.save({
      hash,
      state: 'running',
      startedAt: Date.now(),
      expiresAt: Date.now() + 3_600_000,
      memoryMiB: 512,
      totalUptimeSeconds: 3600,
      port: null,
      ip: null,
    });
    await store.manifests.put(hash, manifest);
    await store.peers.add('https://peer-one.example');
    await store.peers.add('https://peer-two.example');
    await store.close();
    ({ app, url, logs } = await startApp(
      {
        CODIUS_PUBLIC_URI: 'https://codius.example.com',
        CODIUS_COST_PER_MONTH: '12.5',
      },
      root,
    ));
  });
  after(() => app.stop());

  it('GET /version names the daemon and its package version', async () => {
    const response = await fetch(`${url}/version`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await response.json()) as { name: string; version: string };
    assert.match(body.name, /^Codiusd/);
    assert.equal(body.version, VERSION);
  });

  it('GET /info has every field clients read, in order, with free memory in bytes', async () => {
    // The paid pod counts as running once the first reconcile pass has recreated it.
    await until('the first reconcile pass is done', async () => {
      const info = (await (await fetch(`${url}/info`)).json()) as { podsReconciled: boolean };
      return info.podsReconciled;
    });
    const response = await fetch(`${url}/info`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), [
      'fullMem',
      'acceptingUploads',
      'serverFreeMemory',
      'serverUptime',
      'serviceUptime',
      'avgLoad',
      'numPeers',
      'currency',
      'costPerMonth',
      'uri',
      'selfTestSuccess',
      'podsReconciled',
      'runningContracts',
      'paymentMethods',
    ]);
    // 8 GiB × 0.75 minus the paid pod's 512 MiB.
    assert.equal(body.serverFreeMemory, 6 * GiB - GiB / 2);
    assert.equal(body.fullMem, false);
    assert.equal(body.acceptingUploads, false, 'no payments or runtime yet: honestly closed');
    assert.equal(body.serverUptime, 12345.5);
    assert.equal(body.avgLoad, 0.25);
    assert.equal(body.numPeers, 2);
    assert.equal(body.currency, null);
    assert.equal(body.costPerMonth, 12.5);
    assert.equal(body.uri, 'https://codius.example.com');
    assert.equal(body.selfTestSuccess, false);
    assert.equal(typeof body.podsReconciled, 'boolean');
    assert.equal(body.runningContracts, 1);
    assert.deepEqual(body.paymentMethods, [], 'no method takes payments before the ILP link is up');
    assert.equal(typeof body.serviceUptime, 'number');
  });

  it('GET /info?requestPeers=true lists peers; other query keys are accepted', async () => {
    const body = (await (await fetch(`${url}/info?requestPeers=true&foo=1`)).json()) as { peers: string[] };
    assert.deepEqual(body.peers, ['https://peer-one.example', 'https://peer-two.example']);
  });

  it('GET /peers lists a random sample of at most `limit` peers, all of them in order when fewer', async () => {
    const list = async (query: string): Promise<string[]> => {
      const response = await fetch(`${url}/peers${query}`);
      assert.equal(response.status, 200);
      return ((await response.json()) as { peers: string[] }).peers;
    };
    const known = ['https://peer-one.example', 'https://peer-two.example'];
    assert.deepEqual(await list(''), known);
    assert.deepEqual(await list('?limit=3'), known);
    assert.deepEqual((await list('?limit=2')).sort(), known);
    const one = await list('?limit=1');
    assert.equal(one.length, 1);
    assert.ok(known.includes(one[0] ?? ''));
  });

  it('GET /peers refuses a bad limit or any other query key with 400 Invalid request query input', async () => {
    for (const query of ['?limit=0', '?limit=1001', '?limit=1.5', '?limit=ten', '?foo=1', '?limit=1&x=2']) {
      const response = await fetch(`${url}/peers${query}`);
      assert.equal(response.status, 400, query);
      assert.deepEqual(await response.json(), {
        statusCode: 400,
        error: 'Bad Request',
        message: 'Invalid request query input',
      });
    }
  });

  it('GET /memory reports the same free bytes', async () => {
    assert.deepEqual(await (await fetch(`${url}/memory`)).json(), { freeMem: 5.5 * GiB });
  });

  it('serves an HTML status page at / and at any unmatched GET', async () => {
    for (const path of ['/', '/pods/abc', '/no/such/page']) {
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
      const html = await response.text();
      assert.match(html, /<h1 id="header">Codius Host v[^<]+ at https:\/\/codius\.example\.com<\/h1>/);
      assert.match(html, /<td id="numPeers">2<\/td>/);
      assert.match(html, /<td id="memory">5\.906 gigabytes<\/td>/);
      assert.match(html, /<td id="costPerMonth">12\.5 per month<\/td>/);
      assert.match(html, /<td id="serverUptime">3 h 25 min<\/td>/);
    }
  });

  it('answers HEAD for GET routes', async () => {
    const response = await fetch(`${url}/version`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '');
  });

  it('answers unknown non-GET requests with a 404 Boom JSON body', async () => {
    for (const method of ['POST', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(`${url}/nothing-here`, { method });
      assert.equal(response.status, 404, method);
      assert.deepEqual(await response.json(), { statusCode: 404, error: 'Not Found', message: 'Not Found' });
    }
    const wrongMethod = await fetch(`${url}/info`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 404);
  });

  it('logs failed and changing requests at info with method, path, status and time, never query or headers', async () => {
    const secrets = { authorization: 'Bearer secret-bearer-value', 'pay-token': 'secret-pay-token' };
    await fetch(`${url}/version?token=should-not-appear`, { headers: secrets });
    await fetch(`${url}/info`);
    await fetch(`${url}/peers?limit=0&token=should-not-appear`, { headers: secrets });
    await fetch(`${url}/pods?duration=abc&token=should-not-appear`, { method: 'POST', headers: secrets });
    await new Promise((resolve) => setImmediate(resolve));
    const lines = logs.lines().filter((l) => l.msg === 'request');
    const line = lines.findLast((l) => l.path === '/peers');
    assert.ok(line, logs.text());
    assert.equal(line.method, 'GET');
    assert.equal(line.status, 400);
    assert.equal(typeof line.ms, 'number');
    assert.equal(lines.find((l) => l.path === '/pods')?.method, 'POST');
    // Successful reads are what pollers make all day: not in the info log.
    assert.deepEqual(
      lines.filter((l) => l.method === 'GET' && (l.path === '/version' || l.path === '/info')),
      [],
    );
    assert.doesNotMatch(logs.text(), /should-not-appear|secret-bearer-value|secret-pay-token/);
  });

  it('logs successful reads at debug, on the framework path and the direct one alike', async () => {
    const debug = await startApp({ CODIUS_DEV: 'true' }, await tempDir(), 'debug');
    try {
      await fetch(`${debug.url}/version?token=should-not-appear`);
      await fetch(`${debug.url}/info`);
      await fetch(`${debug.url}/info?requestPeers=true`);
      await new Promise((resolve) => setImmediate(resolve));
      const lines = debug.logs.lines().filter((l) => l.msg === 'request');
      assert.deepEqual(
        lines.map((l) => [l.level, l.method, l.path, l.status]),
        [
          [20, 'GET', '/version', 200],
          [20, 'GET', '/info', 200],
          [20, 'GET', '/info', 200],
        ],
      );
      assert.doesNotMatch(debug.logs.text(), /should-not-appear/);
    } finally {
      await debug.app.stop();
    }
  });

  it('omits runningContracts and peers when CODIUS_ADDITIONAL_HOST_INFO=false', async () => {
    const other = await startApp(
      { CODIUS_DEV: 'true', CODIUS_ADDITIONAL_HOST_INFO: 'false', CODIUS_MEMDOWN_PERSIST: 'true' },
      await tempDir(),
    );
    try {
      const body = (await (await fetch(`${other.url}/info?requestPeers=true`)).json()) as Record<
        string,
        unknown
      >;
      assert.equal('runningContracts' in body, false);
      assert.equal('peers' in body, false);
      assert.equal(body.uri, 'http://local.codius.org:3000');
    } finally {
      await other.app.stop();
    }
  });

  it('reports fullMem when pods reserve the whole budget', async () => {
    const fullRoot = await tempDir();
    const store = await openStore({ root: fullRoot, inMemory: false });
    await store.pods.save({
      hash: 'c'.repeat(52),
      state: 'running',
      startedAt: Date.now(),
      // Paid for an hour: an expired pod would be removed (and its memory freed) while the app starts.
      expiresAt: Date.now() + 3_600_000,
      memoryMiB: 6 * 1024,
      totalUptimeSeconds: 1,
      port: null,
      ip: null,
    });
    await store.close();
    const full = await startApp({ CODIUS_DEV: 'true' }, fullRoot);
    try {
      const body = (await (await fetch(`${full.url}/info`)).json()) as Record<string, unknown>;
      assert.equal(body.fullMem, true);
      assert.equal(body.acceptingUploads, false);
      assert.equal(body.serverFreeMemory, 0);
    } finally {
      await full.app.stop();
    }
  });
});

describe('HTTP server defaults', () => {
  let server: ReturnType<typeof createHttpServer>;
  let url: string;

  before(async () => {
    server = createHttpServer({ host: '127.0.0.1', port: 0, logger: capturingLogger().logger });
    server.route({ method: 'POST', path: '/echo', handler: (request) => ({ received: request.payload }) });
    server.route({
      method: 'GET',
      path: '/boom',
      handler: () => {
        throw new Error('internal detail that must not leak');
      },
    });
    await server.start();
    url = server.info.uri;
  });
  after(() => server.stop());

  const post = (body: string | Uint8Array, type = 'application/json'): Promise<Response> =>
    fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': type }, body });

  it('accepts JSON bodies', async () => {
    const response = await post('{"a":1}');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { received: { a: 1 } });
  });

  it('answers 415 JSON for other content types', async () => {
    const response = await post('a=1', 'application/x-www-form-urlencoded');
    assert.equal(response.status, 415);
    assert.deepEqual(await response.json(), {
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'Unsupported Media Type',
    });
  });

  it('answers 400 JSON for malformed JSON', async () => {
    const response = await post('{"a":');
    assert.equal(response.status, 400);
    const body = (await response.json()) as { statusCode: number; error: string };
    assert.equal(body.statusCode, 400);
    assert.equal(body.error, 'Bad Request');
  });

  it('answers 413 JSON beyond 1 MiB, and accepts exactly 1 MiB', async () => {
    const fits = `"${'x'.repeat(1024 * 1024 - 2)}"`;
    assert.equal((await post(fits)).status, 200);
    const response = await post(`"${'x'.repeat(1024 * 1024)}"`);
    assert.equal(response.status, 413);
    const body = (await response.json()) as { statusCode: number; error: string };
    assert.deepEqual([body.statusCode, body.error], [413, 'Request Entity Too Large']);
  });

  it('hides internal errors behind the standard 500 body', async () => {
    const response = await fetch(`${url}/boom`);
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), {
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'An internal server error occurred',
    });
  });

  it('sets Node server timeouts against slow clients', () => {
    assert.equal(server.listener.headersTimeout, 20_000);
    assert.equal(server.listener.requestTimeout, 300_000);
    assert.equal(server.listener.keepAliveTimeout, 65_000);
  });
});

describe('status page formatting', () => {
  it('escapes HTML', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
  it('formats bytes and durations', () => {
    assert.equal(formatBytes(0), 'N/A');
    assert.equal(formatBytes(5e8), '500.000 megabytes');
    assert.equal(formatBytes(2.5e9), '2.500 gigabytes');
    assert.equal(formatDuration(42), '42 s');
    assert.equal(formatDuration(3 * 86400 + 7200 + 60), '3 d 2 h 1 min');
  });
});
