import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createApp } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createPeerClient } from '../../src/peers/peer-client.js';
import { createPeerNetwork } from '../../src/peers/peer-network.js';
import { openStore } from '../../src/store/store.js';
import { freePort, startDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { capturingLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';
import { untilValue } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function peersOf(url: string): Promise<string[]> {
  const response = await fetch(`${url}/peers`);
  return ((await response.json()) as { peers: string[] }).peers;
}

const sorted = (list: readonly string[]): string[] => [...list].sort();

/** A codiusd process in dev mode on loopback, announcing itself as http://127.0.0.1:<port>. */
async function startHost(
  bootstrap: string[],
  options: { root?: string; port?: number; env?: Record<string, string> } = {},
): Promise<DaemonProcess & { url: string; root: string; port: number }> {
  const root = options.root ?? (await tempDir());
  const port = options.port ?? (await freePort());
  const daemon = await startDaemon({
    CODIUS_DEV: 'true',
    CODIUS_ROOT: root,
    CODIUS_PORT: String(port),
    CODIUS_PUBLIC_URI: `http://127.0.0.1:${port}`,
    CODIUS_RUNTIME: 'hyperd',
    CODIUS_HYPER_NOOP: 'true',
    // Nothing listens there: these hosts take no payments.
    ILP_BTP_SERVER: `btp+ws://127.0.0.1:${await freePort()}`,
    CODIUS_BOOTSTRAP_PEERS: JSON.stringify(bootstrap),
    CODIUS_PEER_DISCOVERY_INTERVAL: '0.2',
    CODIUS_PEER_TIMEOUT: '1',
    CODIUS_PEER_MAX_FAILURES: '2',
    CODIUS_PEER_DROP_AFTER: '0',
    ...options.env,
  });
  after(async () => {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });
  return { ...daemon, root, port };
}

/** A stand-in host on loopback answering with `handler`; counts the connections it gets. */
async function stubPeer(
  handler: (req: IncomingMessage, res: ServerResponse, self: string) => void,
): Promise<{ uri: string; server: Server; connections: () => number }> {
  let connections = 0;
  let uri = '';
  const server = createServer((req, res) => handler(req, res, uri));
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { uri, server, connections: () => connections };
}

/** A well-behaved stub: /info names its own URI, /peers/discover lists nobody. */
const honest = (req: IncomingMessage, res: ServerResponse, self: string): void => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(req.url === '/info' ? { uri: self } : { peers: [] }));
};

async function discover(url: string, body: unknown, contentType = 'application/json'): Promise<Response> {
  return fetch(`${url}/peers/discover`, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('peers: several real codiusd processes', () => {
  it('three hosts chained by their bootstrap lists all learn each other, and keep them over a restart', async (t) => {
    const started = Date.now();
    const a = await startHost([]);
    const b = await startHost([a.url]);
    const c = await startHost([b.url]);
    const hosts = [a, b, c];
    await untilValue('convergence', async () => {
      for (const host of hosts) {
        const expected = sorted(hosts.filter((other) => other !== host).map((other) => other.url));
        if (JSON.stringify(sorted(await peersOf(host.url))) !== JSON.stringify(expected)) return undefined;
      }
      return true;
    });
    t.diagnostic(`three hosts converged ${Date.now() - started} ms after the first started`);

    b.child.kill('SIGTERM');
    await b.exited;
    const restarted = await startHost([], { root: b.root, port: b.port });
    assert.deepEqual(sorted(await peersOf(restarted.url)), sorted([a.url, c.url]), 'kept in the store');
  });

  it('POST /peers/discover answers name, version and up to `limit` peers; bad payloads get 400', async () => {
    const stubs = await Promise.all([stubPeer(honest), stubPeer(honest)]);
    const host = await startHost(stubs.map((s) => s.uri));
    const full = await discover(host.url, { peers: [] });
    assert.equal(full.status, 200);
    const body = (await full.json()) as { name: string; version: string; peers: string[] };
    assert.equal(body.name, 'Codiusd (JavaScript)');
    assert.equal(typeof body.version, 'string');
    assert.deepEqual(sorted(body.peers), sorted(stubs.map((s) => s.uri)));
    const limited = (await (await discover(host.url, { peers: [], limit: 1 })).json()) as { peers: string[] };
    assert.equal(limited.peers.length, 1);

    for (const bad of [
      {},
      { peers: 'x' },
      { peers: [1] },
      { peers: [], limit: 0 },
      { peers: [], extra: 1 },
    ]) {
      const response = await discover(host.url, bad);
      assert.equal(response.status, 400, JSON.stringify(bad));
      assert.equal(((await response.json()) as { message: string }).message, 'Invalid request payload input');
    }
    assert.equal((await discover(host.url, '{"peers":[]}', 'text/plain')).status, 415);
  });

  it('adds none of the misbehaving peers, keeps going, and drops a peer that died', async () => {
    const wrongUri = await stubPeer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ uri: 'https://someone-else.example', peers: [] }));
    });
    const hanging = await stubPeer(() => undefined);
    const huge = await stubPeer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 10; i += 1) res.write(chunk);
      res.end('{}');
    });
    const garbage = await stubPeer((_req, res) => res.end('<html>not json'));
    const unavailable = await stubPeer((_req, res) => {
      res.statusCode = 503;
      res.end('{"message":"Self Test Running"}');
    });
    const good = await stubPeer(honest);
    const dying = await stubPeer(honest);

    const host = await startHost([dying.uri]);
    const offered = [wrongUri, hanging, huge, garbage, unavailable].map((s) => s.uri);
    assert.equal(
      (await discover(host.url, { peers: [...offered, 'not a url', 'ftp://x.example'] })).status,
      200,
    );
    // After the bad ones (the hanging one takes the 1 s timeout), a good offer still gets through.
    await sleep(1500);
    assert.equal((await discover(host.url, { peers: [good.uri] })).status, 200);
    await untilValue('the good peer', async () =>
      (await peersOf(host.url)).includes(good.uri) ? true : undefined,
    );
    const known = await peersOf(host.url);
    for (const uri of offered) assert.ok(!known.includes(uri), `${uri} must not be added`);

    // The bootstrap peer dies: after CODIUS_PEER_MAX_FAILURES failed passes it is dropped.
    assert.ok(known.includes(dying.uri));
    dying.server.closeAllConnections();
    await new Promise((resolve) => dying.server.close(resolve));
    await untilValue('the dead peer dropped', async () =>
      (await peersOf(host.url)).includes(dying.uri) ? undefined : true,
    );
    assert.ok((await peersOf(host.url)).includes(good.uri), 'the live peer stays');
    assert.equal((await fetch(`${host.url}/version`)).status, 200, 'the host kept serving');
  });
});

describe('peers: production validation', () => {
  it('never contacts nor adds peers that are, or resolve to, loopback or private addresses, or are not https', async () => {
    const target = await stubPeer(honest);
    const port = new URL(target.uri).port;
    const root = await tempDir();
    // Refused offers are logged at debug level only.
    const logs = capturingLogger('debug');
    const app = createApp({
      config: {
        ...loadConfig({
          CODIUS_PUBLIC_URI: 'https://codius.example.com',
          CODIUS_ROOT: root,
          CODIUS_RUNTIME: 'hyperd',
          CODIUS_HYPER_NOOP: 'true',
          CODIUS_SELF_TEST: 'false',
          CODIUS_BOOTSTRAP_PEERS: '[]',
          ILP_BTP_SERVER: `btp+ws://127.0.0.1:${await freePort()}`,
          CODIUS_PEER_TIMEOUT: '1',
        }),
        port: 0,
      },
      logger: logs.logger,
    });
    await app.start();
    after(() => app.stop());
    const url = app.listeningUrl();
    const offered = [
      `https://127.0.0.1:${port}`,
      `https://localhost:${port}`,
      `https://[::1]:${port}`,
      'https://10.1.2.3',
      'https://192.168.0.10',
      'https://172.20.0.1',
      'https://100.64.0.1',
      'https://169.254.169.254',
      'https://[fd00::1]',
      'https://[fe80::1]',
      'https://0.0.0.0',
      'https://[::ffff:127.0.0.1]',
      target.uri, // http
      'https://codius.example.com', // itself
    ];
    assert.equal((await discover(url, { peers: offered })).status, 200);
    await untilValue('the offers to be processed', () =>
      Promise.resolve(logs.text().includes('localhost') ? true : undefined),
    );
    await sleep(300);
    assert.deepEqual(await peersOf(url), []);
    assert.equal(target.connections(), 0, 'no request reached a loopback address');
    assert.match(logs.text(), /not a public address/);
  });
});

describe('peers: daily revalidation', () => {
  it('drops a peer whose /info names another URI, keeps one that answers, counts failures of the rest', async () => {
    const staying = await stubPeer(honest);
    let moved = false;
    const moving = await stubPeer((req, res, self) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ uri: moved ? 'https://elsewhere.example' : self }));
    });
    const silent = await stubPeer((_req, res) => res.destroy());
    const store = await openStore({ root: await tempDir(), inMemory: false });
    after(() => store.close());
    const network = createPeerNetwork({
      store: store.peers,
      client: createPeerClient({
        timeoutMs: 1000,
        maxBodyBytes: 1024 * 1024,
        allowPrivateAddresses: true,
        userAgent: 'test',
      }),
      logger: capturingLogger().logger,
      selfUri: 'http://127.0.0.1:1',
      bootstrap: [staying.uri, moving.uri, silent.uri],
      dev: true,
      discoveryIntervalMs: 3_600_000,
      fanout: 5,
      maxFailures: 3,
      dropAfterMs: 0,
      maxPeers: 1000,
    });
    await network.start();
    after(() => network.stop());
    moved = true;
    await network.revalidate();
    assert.deepEqual(await store.peers.listUris(), [staying.uri, silent.uri]);
    assert.notEqual((await store.peers.get(staying.uri))?.lastSeenAt, null);
    assert.equal((await store.peers.get(silent.uri))?.consecutiveFailures, 1, 'one failure is not enough');
  });
});
