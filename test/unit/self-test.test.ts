import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Hapi from '@hapi/hapi';
import { installSelfTestGate, type SelfTestGateStats } from '../../src/http/self-test-gate.js';
import { SELF_TEST_POD_APP } from '../../src/self-test/pod-app.js';
import { firstWebSocketMessage, publicRequest } from '../../src/self-test/public-client.js';
import { payerSettings } from '../../src/self-test/paid-request.js';
import { createSelfTest, type SelfTestOptions } from '../../src/self-test/self-test.js';
import { freePort } from '../helpers/daemon.js';
import { capturingLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';

// The self test's pod program itself, run by this Node on loopback: what the self test reads back.
const dir = await tempDir();
const podPort = await freePort();
await writeFile(join(dir, 'server.mjs'), SELF_TEST_POD_APP);
const pod = spawn(process.execPath, [join(dir, 'server.mjs')], {
  env: { PORT: String(podPort) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
after(() => {
  pod.kill('SIGKILL');
});
await new Promise<void>((resolve) => pod.stdout.once('data', () => resolve()));

const HASH = 'a'.repeat(51) + 'q';
const PUBLIC_URI = 'http://codius.test:8080';
const POD_URL = `http://${HASH}.codius.test:8080/`;
const connectTo = { host: '127.0.0.1', port: podPort };

function selfTest(overrides: Partial<SelfTestOptions> = {}) {
  const uploads: Array<{ url: string; headers: Record<string, string> }> = [];
  const logs = capturingLogger();
  const test = createSelfTest({
    publicUri: PUBLIC_URI,
    retries: 2,
    intervalMs: 1,
    repeatMs: 0,
    connectTo,
    bypassToken: 'token-of-this-process',
    logger: logs.logger,
    image: () => Promise.resolve('localhost/codiusd-self-test@sha256:' + '0'.repeat(64)),
    upload: (url, body, headers) => {
      uploads.push({ url, headers });
      assert.equal((JSON.parse(body) as { manifest: { port: string } }).manifest.port, '3000');
      return Promise.resolve({ status: 200, headers: {}, body: JSON.stringify({ url: POD_URL }), sent: 5n });
    },
    ...overrides,
  });
  return { test, uploads, logs };
}

describe('self test', () => {
  it("passes against the pod program through the public URL's name, at the address it is told", async () => {
    const { test, uploads, logs } = selfTest();
    assert.equal(test.stats().running, false);
    const report = await test.run();
    assert.deepEqual(
      { ...report, finishedAt: null },
      {
        selfTestSuccess: true,
        uploadSuccess: true,
        httpSuccess: true,
        wsSuccess: true,
        running: false,
        finishedAt: null,
        failure: null,
        podUrl: POD_URL,
      },
    );
    const [first] = uploads;
    assert.ok(first);
    assert.equal(first.url, 'http://codius.test:8080/pods?duration=300');
    assert.equal(first.headers.authorization, 'Bearer token-of-this-process');
    assert.match(logs.text(), /self test passed/);
    // The pod saw the public host name, not the address connected to.
    const seen = JSON.parse(
      (await publicRequest(POD_URL, { method: 'GET', connectTo, timeoutMs: 5_000 })).body,
    ) as {
      host: string;
    };
    assert.equal(seen.host, `${HASH}.codius.test:8080`);
  });

  it('fails with the reason when the upload is refused, after its retries', async () => {
    const { test, uploads } = selfTest({
      upload: () => Promise.resolve({ status: 503, headers: {}, body: '{"message":"no room"}', sent: 0n }),
    });
    const report = await test.run();
    assert.equal(report.selfTestSuccess, false);
    assert.equal(report.uploadSuccess, false);
    assert.match(report.failure ?? '', /^upload: POST \/pods answered 503/);
    assert.equal(uploads.length, 0, 'the refusing stub records nothing');
  });

  it('fails the HTTP step when the pod cannot be reached, and the image step when there is none', async () => {
    const unreachable = selfTest({ connectTo: { host: '127.0.0.1', port: await freePort() } });
    const report = await unreachable.test.run();
    assert.deepEqual([report.uploadSuccess, report.httpSuccess, report.wsSuccess], [true, false, false]);
    assert.match(report.failure ?? '', /^GET http:\/\/a+q\.codius\.test:8080\//);
    const noImage = selfTest({
      image: () => Promise.reject(new Error('the hyperd runtime cannot run an image built on this host')),
    });
    assert.match((await noImage.test.run()).failure ?? '', /hyperd runtime cannot/);
  });

  it('runs in the background after start, once with repeat 0, and stops', async () => {
    const { test } = selfTest();
    test.start();
    assert.equal(test.stats().running, true, 'running from start, so the gate says "Self Test Running"');
    while (test.report().finishedAt === null) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(test.stats().selfTestSuccess, true);
    await test.stop();
  });
});

describe('public client', () => {
  it('reads the first WebSocket message, and reports a refused upgrade', async () => {
    assert.deepEqual(JSON.parse(await firstWebSocketMessage(POD_URL, { connectTo, timeoutMs: 5_000 })), {
      websocketEnabled: true,
    });
    const plain = await freePort();
    const server = (await import('node:http')).createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => server.listen(plain, '127.0.0.1', resolve));
    after(() => server.close());
    await assert.rejects(
      firstWebSocketMessage('http://x.test/', {
        connectTo: { host: '127.0.0.1', port: plain },
        timeoutMs: 5_000,
      }),
      /upgrade was answered 404/,
    );
  });

  it("gives the payer a BTP account of its own on the host's provider", () => {
    const host = {
      plugin: 'ilp-plugin-btp',
      credentials: { server: 'btp+ws://:hostsecret@localhost:7768' },
      btpServer: null,
    };
    const payer = payerSettings(host);
    const server = new URL(String(payer.credentials?.server));
    assert.equal(server.host, 'localhost:7768');
    assert.notEqual(server.password, 'hostsecret');
    assert.match(server.password, /^[0-9a-f]{32}$/);
    assert.notEqual(payerSettings(host).credentials?.server, payer.credentials?.server);
    const other = { plugin: 'ilp-plugin-xrp-paychan', credentials: null, btpServer: null };
    assert.equal(payerSettings(other), other);
  });
});

describe('self-test gate', () => {
  let stats: SelfTestGateStats = {
    selfTestSuccess: false,
    uploadSuccess: false,
    httpSuccess: false,
    wsSuccess: false,
    running: true,
  };
  const server = Hapi.server();
  server.route([
    { method: ['OPTIONS', 'POST', 'PUT'], path: '/pods', handler: () => ({ ok: true }) },
    { method: 'GET', path: '/pods', handler: () => ({ ok: true }) },
    { method: 'GET', path: '/info', handler: () => ({ ok: true }) },
  ]);
  installSelfTestGate(server, { stats: () => stats, bypassToken: 'token-of-this-process' });

  it('answers paid routes with the self-test 503 until the self test passed; the rest stays open', async () => {
    const running = await server.inject({ method: 'POST', url: '/pods' });
    assert.equal(running.statusCode, 503);
    assert.deepEqual(JSON.parse(running.payload), { message: 'Self Test Running', stats });
    for (const method of ['OPTIONS', 'PUT']) {
      assert.equal((await server.inject({ method, url: '/pods' })).statusCode, 503, method);
    }
    assert.equal((await server.inject({ method: 'GET', url: '/pods' })).statusCode, 200);
    assert.equal((await server.inject({ method: 'GET', url: '/info' })).statusCode, 200);
    stats = { ...stats, running: false };
    const failed = await server.inject({ method: 'POST', url: '/pods' });
    assert.equal((JSON.parse(failed.payload) as { message: string }).message, 'Self Test Failed');
    const bypass = await server.inject({
      method: 'POST',
      url: '/pods',
      headers: { authorization: 'whatever token-of-this-process' },
    });
    assert.equal(bypass.statusCode, 200, "the self test's own token passes (any scheme word)");
    const wrong = await server.inject({
      method: 'POST',
      url: '/pods',
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.statusCode, 503);
    stats = { ...stats, selfTestSuccess: true };
    assert.equal((await server.inject({ method: 'POST', url: '/pods' })).statusCode, 200);
  });
});
