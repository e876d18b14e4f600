// The pod proxy right after a start, while the directory is still being filled: a pod it lacks is read from
// the store, over real loopback HTTP and WebSocket-style upgrade requests.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { PodRecord } from '../../src/domain/types.js';
import type { Logger } from '../../src/logger.js';
import { createPodProxy, type PodProxy, type PodProxyOptions } from '../../src/proxy/pod-proxy.js';
import { capturingLogger } from '../helpers/logs.js';

const HASH = 'r7cdiwyq5hhlqhtnjpqbdbbgebxwdpzcpkyljh5foy5cvhlnqdoq';
const HOST = `${HASH}.codius.example.com`;

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A front that hands every request and upgrade to the proxy, as the public port does. */
async function frontFor(proxy: PodProxy): Promise<number> {
  const front = createServer((req, res) => {
    if (!proxy.handleRequest(req, res)) res.writeHead(404).end();
  });
  front.on('upgrade', (req, socket, head) => proxy.handleUpgrade(req, socket, head));
  after(async () => {
    await proxy.close();
    front.closeAllConnections();
    await new Promise((resolve) => front.close(resolve));
  });
  return listening(front);
}

interface Answer {
  status: number;
  body: string;
  retryAfter?: string | undefined;
}

function get(port: number, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/hello', headers: { host: HOST, ...headers } });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A proxy whose directory holds no pod yet: every pod is looked up with `lookupStored`. */
function proxyOverEmptyDirectory(lookupStored: PodProxyOptions['lookupStored'], logger: Logger): PodProxy {
  return createPodProxy({
    publicUri: 'https://codius.example.com',
    trustedProxies: [],
    timeoutMs: 5_000,
    maxConnectionsPerPod: 8,
    lookup: () => undefined,
    ...(lookupStored ? { lookupStored } : {}),
    logger,
  });
}

describe('the pod proxy while the pod records are loading', () => {
  it('serves a pod the directory lacks from its stored record, and reads the store only while loading', async () => {
    const pod = createServer((req, res) => res.end(`pod says ${req.url ?? ''}`));
    after(() => new Promise((resolve) => pod.close(resolve)));
    const podPort = await listening(pod);
    const record: PodRecord = {
      hash: HASH,
      state: 'running',
      startedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      memoryMiB: 64,
      totalUptimeSeconds: 0,
      port: podPort,
      ip: '127.0.0.1',
    };
    let loaded = false;
    const storeReads: string[] = [];
    const proxy = proxyOverEmptyDirectory((hash) => {
      if (loaded) return undefined;
      storeReads.push(hash);
      return Promise.resolve(record);
    }, capturingLogger().logger);
    const port = await frontFor(proxy);
    assert.deepEqual(await get(port), { status: 200, body: 'pod says /hello', retryAfter: undefined });
    assert.deepEqual(storeReads, [HASH]);
    loaded = true;
    const afterLoad = await get(port);
    assert.equal(afterLoad.status, 404, 'once loaded, a pod the directory lacks is no pod');
    assert.match(afterLoad.body, /no pod with that hash found/);
    assert.deepEqual(storeReads, [HASH]);
  });

  it('answers 503 (requests with Retry-After) when the store cannot be read, for upgrades too', async () => {
    const logs = capturingLogger();
    const proxy = proxyOverEmptyDirectory(
      () => Promise.reject(new Error('SQLITE_BUSY: database is locked')),
      logs.logger,
    );
    const port = await frontFor(proxy);
    const answer = await get(port);
    assert.equal(answer.status, 503);
    assert.equal(answer.retryAfter, '1');
    assert.match(answer.body, /cannot be looked up right now; try again shortly/);
    assert.match(logs.text(), /the pod record could not be read/);
    const upgrade = await get(port, { connection: 'Upgrade', upgrade: 'websocket' });
    assert.equal(upgrade.status, 503);
  });
});
