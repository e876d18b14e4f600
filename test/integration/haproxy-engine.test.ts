import assert from 'node:assert/strict';
import { request } from 'node:https';
import { describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createHaproxyRuntimeApi } from '../../src/proxy/haproxy/runtime-api.js';
import { freePort } from '../helpers/daemon.js';
import { startAppHost } from '../helpers/app-host.js';
import { wildcardCertificate } from '../helpers/nginx-front.js';
import { setupPodman } from '../helpers/podman.js';
import { seedPaidPod } from '../helpers/seed.js';
import { tempDir } from '../helpers/tmp.js';
import { adoptHostOf, podServerImage } from '../helpers/pod-fixture.js';

// CODIUS_PROXY_ENGINE=haproxy beyond the behaviour both engines share (proxy-suite.ts): TLS terminated by
// HAProxy with a wildcard certificate, routes added through the runtime API while it runs, and a HAProxy
// that dies is started again with every route.
const HOST = 'codius.test';
const fixture = await setupPodman();
const podImage = await podServerImage(fixture);
const late = await fixture.lateImage();
const root = await tempDir();
const certificate = await wildcardCertificate(await tempDir(), HOST);
const pods = {
  main: await seedPaidPod(
    root,
    {
      name: 'haproxy-main',
      version: '1',
      port: '3000',
      containers: [{ id: 'app', image: podImage, environment: { POD_NAME: 'main' } }],
    },
    { publicUri: `https://${HOST}` },
  ),
  late: await seedPaidPod(
    root,
    { name: 'haproxy-late', version: '1', port: '3000', containers: [{ id: 'web', image: late.reference }] },
    { publicUri: `https://${HOST}` },
  ),
};
await adoptHostOf(fixture, root);
const port = await freePort();
const { logs } = await startAppHost({
  CODIUS_PUBLIC_URI: `https://${HOST}`,
  CODIUS_PORT: String(port),
  CODIUS_ROOT: root,
  ...fixture.podmanEnv,
  CODIUS_RECONCILE_INTERVAL: '5',
  ILP_BTP_SERVER: `btp+ws://127.0.0.1:${await freePort()}`,
  CODIUS_TRUSTED_PROXIES: 'none',
  CODIUS_PROXY_ENGINE: 'haproxy',
  CODIUS_TLS_CERT: certificate.certFile,
  CODIUS_TLS_KEY: certificate.keyFile,
  CODIUS_HTTP_PORT: String(await freePort()),
});
const runtimeApi = createHaproxyRuntimeApi(join(root, 'haproxy', 'runtime.sock'));

function get(
  host: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: host,
        ca: certificate.ca,
        agent: false,
        headers: { ...headers, Host: host },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const routes = async (): Promise<string> =>
  runtimeApi.send(`show map ${join(root, 'haproxy', 'pod-routes.map')}`);
const hostOf = (hash: string): string => `${hash}.${HOST}`;

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('HAProxy engine', () => {
  it('terminates TLS with the wildcard certificate: pods over https and wss, the API behind it', async () => {
    assert.match(await routes(), new RegExp(`${hostOf(pods.main.hash)} \\d+\\.\\d+\\.\\d+\\.\\d+/3000`));
    const reply = await get(hostOf(pods.main.hash), '/headers');
    assert.equal(reply.status, 200);
    const { rawHeaders } = JSON.parse(reply.body) as { rawHeaders: string[] };
    const seen = (name: string): string | undefined =>
      rawHeaders[rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name) + 1];
    assert.equal(seen('x-forwarded-proto'), 'https');
    assert.equal(seen('x-forwarded-for'), '127.0.0.1');
    // A request only codiusd forwards exactly (a header named by Connection) reaches the pod through
    // codiusd, which still knows the client's address and that it used TLS (PROXY protocol).
    const viaCodiusd = await get(hostOf(pods.main.hash), '/headers', {
      Connection: 'keep-alive, X-Hop',
      'X-Hop': 'a',
    });
    const second = (JSON.parse(viaCodiusd.body) as { rawHeaders: string[] }).rawHeaders.map((h) =>
      h.toLowerCase(),
    );
    assert.ok(!second.includes('x-hop'));
    assert.equal(second[second.indexOf('x-forwarded-proto') + 1], 'https');
    assert.equal(second[second.indexOf('x-forwarded-for') + 1], '127.0.0.1');

    const version = await get(HOST, '/version');
    assert.equal(version.status, 200);
    assert.match(version.body, /"version"/);

    // The TLS name is the pod's, though the connection goes to the loopback address.
    const tlsOptions = { servername: hostOf(pods.main.hash), ca: certificate.ca };
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, {
      headers: { Host: hostOf(pods.main.hash) },
      ...(tlsOptions as WebSocket.ClientOptions),
    });
    const hello = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(data.toString()));
      ws.once('error', reject);
    });
    assert.equal((JSON.parse(hello) as { hello: string }).hello, '127.0.0.1');
    ws.close();
  });

  it('adds a route through the runtime API when a pod starts running, without a reload', async () => {
    const before = await get(hostOf(pods.late.hash), '/');
    assert.equal(before.status, 503, 'codiusd answers for the pod that is not running');
    assert.doesNotMatch(await routes(), new RegExp(pods.late.hash));
    const pid = (await readFile(join(root, 'haproxy', 'haproxy.pid'), 'utf8')).trim();
    await late.publish();
    await eventually(async () => (await routes()).includes(hostOf(pods.late.hash)), 'the route was added');
    assert.equal((await get(hostOf(pods.late.hash), '/')).status, 200);
    assert.equal(
      (await readFile(join(root, 'haproxy', 'haproxy.pid'), 'utf8')).trim(),
      pid,
      'the same HAProxy',
    );
  });

  it('starts HAProxy again after it is killed, with every route', async () => {
    const pid = Number((await readFile(join(root, 'haproxy', 'haproxy.pid'), 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (await get(hostOf(pods.main.hash), '/')).status === 200, 'served again');
    const now = await routes();
    assert.ok(now.includes(hostOf(pods.main.hash)) && now.includes(hostOf(pods.late.hash)), now);
    assert.notEqual(Number((await readFile(join(root, 'haproxy', 'haproxy.pid'), 'utf8')).trim()), pid);
    assert.match(logs.text(), /HAProxy exited; restarting it/);
  });
});
