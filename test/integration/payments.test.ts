import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import { createApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { HostInfo, Manifest } from '../../src/domain/types.js';
import { createConnection } from 'ilp-protocol-stream';
import { fetch as fetchIldcp } from 'ilp-protocol-ildcp';
import { createIlpLink } from '../../src/ilp/link.js';
import { createIlpPlugin } from '../../src/ilp/plugin.js';
import { podIlpEnvironment } from '../../src/connector/pod-connector.js';
import { fixIlpProtocolStream } from '../../src/ilp/stream-compat.js';
import { isCodiusError } from '../../src/domain/errors.js';
import { createPaymentReceiver } from '../../src/payments/receiver.js';
import { hashManifest } from '../../src/manifest/hash.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { openStore } from '../../src/store/store.js';
import { freePort } from '../helpers/daemon.js';
import { createPayingClient, type PayingClient } from '../helpers/ilp-client.js';
import { capturingLogger } from '../helpers/logs.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { setupPodman, waitForHttp } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const IlpPacket = createRequire(import.meta.url)('ilp-packet') as {
  serializeIlpPrepare(p: {
    amount: string;
    destination: string;
    executionCondition: Buffer;
    expiresAt: Date;
    data: Buffer;
  }): Buffer;
  serializeIlpFulfill(f: { fulfillment: Buffer; data: Buffer }): Buffer;
  deserializeIlpPacket(b: Buffer): { type: number; data: { code?: string } };
};
const podmanFixture = await setupPodman();
const moneyd = await setupMoneyd();

/** 10 XRP per month at scale 9 (moneyd local): golden prices. */
const PRICE_600 = 2_283_106n;
const PRICE_300 = 1_141_553n;
const PAYMENT_TIMEOUT_S = 2;

interface RunningApp {
  app: App;
  url: string;
  root: string;
  logs: ReturnType<typeof capturingLogger>;
  stop(): Promise<void>;
}

async function startApp(env: Record<string, string> = {}, root?: string): Promise<RunningApp> {
  const dir = root ?? (await tempDir());
  const { secret } = await loadOrCreateHostSecret(dir);
  podmanFixture.adoptHostId(hostIdFromSecret(secret));
  const config = {
    ...loadConfig({
      CODIUS_PUBLIC_URI: 'https://codius.example.com',
      CODIUS_ROOT: dir,
      CODIUS_PODMAN_SOCKET: podmanFixture.socketPath,
      CODIUS_PODMAN_NETWORK: podmanFixture.network,
      CODIUS_ALLOWED_REGISTRIES: podmanFixture.registry,
      CODIUS_PODMAN_SUBNET: podmanFixture.subnet,
      CODIUS_PAYMENT_TIMEOUT: String(PAYMENT_TIMEOUT_S),
      CODIUS_SELF_TEST: 'false',
      CODIUS_BOOTSTRAP_PEERS: '[]',
      ILP_CREDENTIALS: JSON.stringify(testBtpCredentials()),
      ...env,
    }),
    port: 0,
  };
  const logs = capturingLogger();
  const app = createApp({ config, logger: logs.logger });
  await app.start();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await app.stop();
  };
  after(stop);
  return { app, url: app.listeningUrl(), root: dir, logs, stop };
}

async function info(url: string): Promise<HostInfo> {
  return (await (await fetch(`${url}/info`)).json()) as HostInfo;
}

function webManifest(name: string, image = podmanFixture.webImage): Manifest {
  return {
    name: `${name}-${randomBytes(4).toString('hex')}`,
    version: '1.0.0',
    port: '3000',
    containers: [{ id: 'web', image }],
  };
}

/** A paid 600 s upload of `manifest` with the test's payer. */
function upload600(manifest: Manifest, maxPrice = PRICE_600) {
  return payer.request(`${host.url}/pods?duration=600`, { method: 'POST', body: { manifest }, maxPrice });
}

/** The ledger lines of a manifest; the store is exclusive, so only while no app runs on `root`. */
async function ledgerOf(root: string, hash: string) {
  const store = await openStore({ root, inMemory: false });
  try {
    return await store.ledger.listForManifest(hash);
  } finally {
    await store.close();
  }
}

// Started at the top level: after() hooks registered inside a before() hook would run right after it.
let host = await startApp();
await until('the host accepts uploads', async () => (await info(host.url)).acceptingUploads);
const payer: PayingClient = createPayingClient();
after(() => payer.close());

describe('payments and the /pods API over real moneyd, STREAM and Podman', () => {
  it('quotes for free by default, with the asset, and the golden price', async () => {
    const manifest = webManifest('quote');
    const response = await fetch(`${host.url}/pods?duration=600`, {
      method: 'OPTIONS',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ manifest }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      manifestHash: hashManifest(manifest),
      price: PRICE_600.toString(),
      assetCode: 'XRP',
      assetScale: 9,
    });
    const info1 = await info(host.url);
    assert.equal(info1.currency, 'XRP');
  });

  it('takes exactly the price over STREAM with its own client, then starts the pod', async () => {
    const manifest = webManifest('own-client');
    const hash = hashManifest(manifest);
    const before1 = Date.now();
    const paid = await payer.request(`${host.url}/pods?duration=600`, {
      method: 'POST',
      body: { manifest },
      maxPrice: PRICE_600 * 2n,
    });
    assert.equal(paid.first.status, 402);
    assert.deepEqual(JSON.parse(paid.first.body), {
      statusCode: 402,
      error: 'Payment Required',
      message: 'Payment Required',
    });
    assert.match(paid.first.pay ?? '', /^interledger-stream private\.moneyd\.local\.\S+ [A-Za-z0-9+/]{43}=$/);
    assert.equal(paid.status, 200, paid.body);
    assert.equal(paid.totalSent, PRICE_600, 'the payer sent exactly the price, not its maximum');
    const body = paid.json();
    assert.equal(body.url, `https://${hash}.codius.example.com/`);
    assert.equal(body.manifestHash, hash);
    const expiry = Date.parse(String(body.expiry));
    assert.ok(expiry >= before1 + 600_000 && expiry <= Date.now() + 600_000);

    const shown = (await (await fetch(`${host.url}/pods?manifestHash=${hash}`)).json()) as Record<
      string,
      unknown
    >;
    // The fields Codius clients read, plus the pod's own ILP account (nothing in it yet).
    assert.deepEqual(shown, {
      url: body.url,
      manifestHash: hash,
      expiry: body.expiry,
      manifest,
      ilpBalance: { amount: '0', assetCode: 'XRP', assetScale: 9 },
    });
  });

  it("opens a pod's own ILP account to the holder of its pod secret: credits, debits, no overdraft", async () => {
    const manifest = webManifest('pod-account');
    const hash = hashManifest(manifest);
    assert.equal((await upload600(manifest)).status, 200);
    const { secret } = await loadOrCreateHostSecret(host.root);
    const gateway = podmanFixture.subnet.replace(/\.0\/\d+$/, '.1');
    const env = podIlpEnvironment(secret, { host: gateway, port: 7768 })(hash);
    // The test stands in for the pod: the web image knows nothing of ILP.
    const podSide = createIlpPlugin({
      plugin: 'ilp-plugin-btp',
      credentials: JSON.parse(env.find((v) => v.name === 'ILP_CREDENTIALS')?.value ?? '{}') as Record<
        string,
        unknown
      >,
      btpServer: null,
    });
    after(() => podSide.disconnect().catch(() => undefined));
    await podSide.connect();
    // Plain ILP packets, so every amount is exact: the pod fulfills what it is sent with a known preimage.
    const fulfillment = randomBytes(32);
    const condition = createHash('sha256').update(fulfillment).digest();
    podSide.registerDataHandler(() =>
      Promise.resolve(IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) })),
    );
    const podAddress = (await fetchIldcp((data: Buffer) => podSide.sendData(data))).clientAddress;
    assert.match(podAddress, /^private\.moneyd\.local\.[^.]+\.pods\.[A-Za-z0-9_-]{43}$/);
    const outside = createIlpPlugin({
      plugin: 'ilp-plugin-btp',
      credentials: testBtpCredentials(),
      btpServer: null,
    });
    after(() => outside.disconnect().catch(() => undefined));
    await outside.connect();
    outside.registerDataHandler(() =>
      Promise.resolve(IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) })),
    );
    const outsideAddress = (await fetchIldcp((data: Buffer) => outside.sendData(data))).clientAddress;
    const prepare = (amount: number, destination: string) =>
      IlpPacket.serializeIlpPrepare({
        amount: String(amount),
        destination,
        executionCondition: condition,
        expiresAt: new Date(Date.now() + 10_000),
        data: Buffer.alloc(0),
      });
    const typeOf = (response: Buffer) => IlpPacket.deserializeIlpPacket(response).type;
    const balance = async () =>
      (
        (await (await fetch(`${host.url}/pods?manifestHash=${hash}`)).json()) as {
          ilpBalance: { amount: string };
        }
      ).ilpBalance.amount;

    assert.equal(typeOf(await outside.sendData(prepare(1234, podAddress))), 13, 'paid from outside');
    assert.equal(await balance(), '1234');
    assert.equal(typeOf(await podSide.sendData(prepare(234, outsideAddress))), 13, 'the pod pays');
    assert.equal(await balance(), '1000');
    const refused = IlpPacket.deserializeIlpPacket(await podSide.sendData(prepare(1001, outsideAddress)));
    assert.deepEqual([refused.type, refused.data.code], [14, 'T04']);
    assert.equal(await balance(), '1000');
  });

  it('works with the real ilp-fetch 1.4.0 for upload and extend (PUT)', async () => {
    const require = createRequire(import.meta.url);
    fixIlpProtocolStream(require.resolve('ilp-fetch'));
    const ilpFetch = require('ilp-fetch') as (
      url: string,
      options: Record<string, unknown>,
    ) => Promise<Response & { price: string; destination: { assetCode: string; assetScale: number } }>;
    const manifest = webManifest('ilp-fetch');
    const hash = hashManifest(manifest);
    const plugin = () =>
      createIlpPlugin({ plugin: 'ilp-plugin-btp', credentials: testBtpCredentials(), btpServer: null });
    const upload = await ilpFetch(`${host.url}/pods?duration=600`, {
      plugin: plugin(),
      method: 'POST',
      maxPrice: '2283369',
      headers: { 'Content-Type': 'application/json', Accept: 'application/codius-v1+json' },
      body: JSON.stringify({ manifest }),
    });
    const uploaded = (await upload.json()) as { expiry: string; url: string };
    assert.equal(upload.status, 200);
    assert.equal(upload.price, PRICE_600.toString());
    assert.deepEqual(upload.destination, { assetCode: 'XRP', assetScale: 9 });

    const extend = await ilpFetch(`${host.url}/pods?manifestHash=${hash}&duration=300`, {
      plugin: plugin(),
      method: 'PUT',
      maxPrice: '1141684',
      headers: { Accept: 'application/codius-v1+json' },
    });
    const extended = (await extend.json()) as { expiry: string };
    assert.equal(extend.status, 200, JSON.stringify(extended));
    assert.equal(extend.price, PRICE_300.toString());
    assert.equal(Date.parse(extended.expiry) - Date.parse(uploaded.expiry), 300_000);
  });

  it('refuses a missing or malformed Pay-Token with the texts clients expect', async () => {
    const manifest = webManifest('token');
    const post = (headers: Record<string, string>) =>
      fetch(`${host.url}/pods?duration=60`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ manifest }),
      });
    const missing = await post({});
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { message: string }).message, 'must supply `Pay-Token` header.');
    for (const bad of [
      randomBytes(15).toString('base64url'),
      randomBytes(17).toString('base64'),
      'not*base64!',
    ]) {
      const response = await post({ 'Pay-Token': bad });
      assert.equal(response.status, 400, bad);
      assert.equal(
        ((await response.json()) as { message: string }).message,
        '`Pay-Token` must be 16 bytes base64.',
      );
    }
    // Standard base64 with padding is as good as base64url.
    const standard = await post({ 'Pay-Token': randomBytes(16).toString('base64') });
    assert.equal(standard.status, 402);
  });

  it('lets a stream pay for one request only: replaying a used token buys nothing', async () => {
    const manifest = webManifest('replay');
    const hash = hashManifest(manifest);
    const paid = await upload600(manifest);
    assert.equal(paid.status, 200);
    const expiry = paid.json().expiry;

    for (const method of ['POST', 'PUT'] as const) {
      const url =
        method === 'POST'
          ? `${host.url}/pods?duration=600`
          : `${host.url}/pods?manifestHash=${hash}&duration=600`;
      const replay = await fetch(url, {
        method,
        headers: {
          'Pay-Token': paid.token.toString('base64url'),
          ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}),
        },
        body: method === 'POST' ? JSON.stringify({ manifest }) : undefined,
      });
      assert.equal(replay.status, 400, method);
      assert.match(((await replay.json()) as { message: string }).message, /already used/);
    }
    const shown = (await (await fetch(`${host.url}/pods?manifestHash=${hash}`)).json()) as { expiry: string };
    assert.equal(shown.expiry, expiry, 'the replay did not extend the pod');
  });

  it('answers every client error before asking for money', async () => {
    const manifest = webManifest('errors');
    const unknownHash = hashManifest(webManifest('never-uploaded'));
    const cases: Array<{
      name: string;
      method: string;
      path: string;
      body?: unknown;
      type?: string;
      status: number;
      message: RegExp;
    }> = [
      {
        name: 'schema',
        method: 'POST',
        path: '/pods',
        body: { manifest: { name: 'x' } },
        status: 400,
        message: /^Invalid request payload input$/,
      },
      {
        name: 'content type',
        method: 'POST',
        path: '/pods',
        body: 'x',
        type: 'text/plain',
        status: 415,
        message: /Unsupported Media Type/,
      },
      {
        name: 'reserved env',
        method: 'POST',
        path: '/pods',
        body: {
          manifest: {
            ...manifest,
            containers: [{ id: 'a', image: podmanFixture.webImage, environment: { CODIUS_X: '1' } }],
          },
        },
        status: 422,
        message: /^environment variables starting in "CODIUS" are reserved\. var=CODIUS_X$/,
      },
      {
        name: 'duration 0',
        method: 'POST',
        path: '/pods?duration=0',
        body: { manifest },
        status: 400,
        message: /duration must be a whole number of seconds from 1 to 31536000; got "0"/,
      },
      {
        name: 'negative duration',
        method: 'POST',
        path: '/pods?duration=-5',
        body: { manifest },
        status: 400,
        message: /duration/,
      },
      {
        name: 'NaN duration',
        method: 'POST',
        path: '/pods?duration=abc',
        body: { manifest },
        status: 400,
        message: /duration/,
      },
      {
        name: 'fractional duration',
        method: 'POST',
        path: '/pods?duration=1.5',
        body: { manifest },
        status: 400,
        message: /duration/,
      },
      {
        name: 'too long',
        method: 'POST',
        path: '/pods?duration=31536001',
        body: { manifest },
        status: 400,
        message: /duration/,
      },
      {
        name: 'PUT unknown pod',
        method: 'PUT',
        path: `/pods?manifestHash=${unknownHash}&duration=60`,
        status: 404,
        message: new RegExp(`^no pod found with id\\. id=${unknownHash}$`),
      },
      {
        name: 'PUT no hash',
        method: 'PUT',
        path: '/pods?duration=60',
        status: 422,
        message: /^manifestHash must be specified$/,
      },
      {
        name: 'PUT bad hash',
        method: 'PUT',
        path: '/pods?manifestHash=abc&duration=60',
        status: 400,
        message: /52-character/,
      },
      {
        name: 'PUT with body',
        method: 'PUT',
        path: `/pods?manifestHash=${unknownHash}&duration=60`,
        body: { a: 1 },
        status: 400,
        message: /^Invalid request payload input$/,
      },
      {
        name: 'PUT bad duration',
        method: 'PUT',
        path: `/pods?manifestHash=${unknownHash}&duration=0`,
        status: 400,
        message: /duration/,
      },
      {
        name: 'GET unknown',
        method: 'GET',
        path: `/pods?manifestHash=${unknownHash}`,
        status: 404,
        message: new RegExp(`^No manifest with hash of "${unknownHash}"$`),
      },
      {
        name: 'GET no hash',
        method: 'GET',
        path: '/pods',
        status: 422,
        message: /^manifestHash must be specified$/,
      },
    ];
    for (const c of cases) {
      const response = await fetch(`${host.url}${c.path}`, {
        method: c.method,
        headers: {
          'Pay-Token': randomBytes(16).toString('base64url'),
          ...(c.body === undefined ? {} : { 'Content-Type': c.type ?? 'application/json' }),
        },
        body: c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
      });
      assert.equal(response.status, c.status, c.name);
      assert.equal(response.headers.get('pay'), null, `${c.name}: no payment asked`);
      const body = (await response.json()) as { message: string };
      assert.match(body.message, c.message, c.name);
    }
  });

  it('keeps an underpayment as credit after the timeout, and the next upload spends it', async () => {
    const manifest = webManifest('short');
    const hash = hashManifest(manifest);
    const short = 1_000_000n;
    const started = Date.now();
    const first = await payer.request(`${host.url}/pods?duration=600`, {
      method: 'POST',
      body: { manifest },
      maxPrice: short,
    });
    assert.equal(first.status, 402);
    assert.deepEqual(JSON.parse(first.body), {
      statusCode: 402,
      error: 'Payment Required',
      message: 'Failed to get payment before timeout',
    });
    assert.ok(Date.now() - started >= PAYMENT_TIMEOUT_S * 1000);
    assert.equal(first.totalSent, short);
    const missing = await fetch(`${host.url}/pods?manifestHash=${hash}`);
    assert.equal(missing.status, 404, 'no pod for a short payment');

    const second = await upload600(manifest);
    assert.equal(second.status, 200, second.body);
    assert.equal(second.totalSent, PRICE_600 - short, 'only the rest was paid');
    assert.equal(second.json().creditUsed, short.toString());
    await assertServing(hash);
  });

  it('keeps the payment as credit when the pod cannot start, and the next upload uses it', async () => {
    const late = await podmanFixture.lateImage();
    const manifest = webManifest('late', late.reference);
    const hash = hashManifest(manifest);
    const failed = await upload600(manifest);
    assert.equal(failed.status, 422, failed.body);
    assert.equal(failed.totalSent, PRICE_600);
    assert.match(
      failed.json().message as string,
      /is not available.*2283106 \(XRP, scale 9\) paid is kept as credit/,
    );
    assert.equal((await fetch(`${host.url}/pods?manifestHash=${hash}`)).status, 404);

    await late.publish();
    // The credit covers the whole price: no payment is asked at all.
    const retried = await upload600(manifest);
    assert.equal(retried.first.status, 200, retried.first.body);
    assert.equal(retried.totalSent, 0n);
    assert.equal(retried.json().creditUsed, PRICE_600.toString());
  });

  it('counts two concurrent paid uploads of one manifest, with one pod', async () => {
    const manifest = webManifest('concurrent');
    const hash = hashManifest(manifest);
    const started = Date.now();
    const [a, b] = await Promise.all([0, 1].map(() => upload600(manifest)));
    assert.equal(a?.status, 200, a?.body);
    assert.equal(b?.status, 200, b?.body);
    assert.equal(a.totalSent + b.totalSent, 2n * PRICE_600);
    const shown = (await (await fetch(`${host.url}/pods?manifestHash=${hash}`)).json()) as { expiry: string };
    const expiry = Date.parse(shown.expiry);
    assert.ok(expiry >= started + 1_200_000 && expiry <= Date.now() + 1_200_000, 'both durations counted');
    await assertServing(hash);
  });

  it('recreates a paid pod on PUT when the runtime lost it', async () => {
    const manifest = webManifest('lost');
    const hash = hashManifest(manifest);
    const paid = await upload600(manifest);
    assert.equal(paid.status, 200);
    const { secret } = await loadOrCreateHostSecret(host.root);
    await podmanFixture.removePodsOf(hostIdFromSecret(secret));
    const extended = await payer.request(`${host.url}/pods?manifestHash=${hash}&duration=300`, {
      method: 'PUT',
      maxPrice: PRICE_300,
    });
    assert.equal(extended.status, 200, extended.body);
    assert.equal(extended.totalSent, PRICE_300);
    await assertServing(hash);
  });

  it('books every payment in the ledger and keeps ledger and expiries across a restart', async () => {
    const manifest = webManifest('restart');
    const hash = hashManifest(manifest);
    const paid = await upload600(manifest);
    assert.equal(paid.status, 200);
    const expiry = paid.json().expiry;
    await host.stop();

    const lines = await ledgerOf(host.root, hash);
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { ...lines[0], id: 0, at: 0 },
      {
        id: 0,
        at: 0,
        manifestHash: hash,
        amount: PRICE_600.toString(),
        credit: '0',
        assetCode: 'XRP',
        assetScale: 9,
        purpose: 'upload',
        payTokenHash: createHash('sha256').update(paid.token).digest('hex'),
        method: 'stream',
        paymentRef: null,
      },
    );
    const store = await openStore({ root: host.root, inMemory: false });
    const [account] = await store.ledger.accounts();
    await store.close();
    assert.equal(account?.assetCode, 'XRP');
    assert.equal(account.outstandingCredit, 0n, 'every credit was spent by a later upload');
    assert.ok(account.received > 0n && account.earned === account.received);

    host = await startApp({}, host.root);
    const shown = (await (await fetch(`${host.url}/pods?manifestHash=${hash}`)).json()) as { expiry: string };
    assert.equal(shown.expiry, expiry);
  });

  async function assertServing(hash: string): Promise<void> {
    const ip = await podIp(hash);
    assert.match(await waitForHttp(`http://${ip}:3000/`), /hello from a codius test pod/);
  }

  async function podIp(hash: string): Promise<string> {
    const pod = await podmanFixture.client.request({
      method: 'GET',
      path: `/v4.0.0/libpod/pods/codius-${hash}/json`,
    });
    assert.equal(pod.status, 200);
    const infra = JSON.parse(pod.body.toString('utf8')) as { InfraContainerID: string };
    const container = await podmanFixture.client.request({
      method: 'GET',
      path: `/v4.0.0/libpod/containers/${infra.InfraContainerID}/json`,
    });
    const networks = (
      JSON.parse(container.body.toString('utf8')) as {
        NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
      }
    ).NetworkSettings.Networks;
    const ip = networks[podmanFixture.network]?.IPAddress;
    assert.ok(ip);
    return ip;
  }
});

describe('payment receiver bounds', () => {
  it('bounds pending tokens in number and age, and refuses connections for unknown tokens', async () => {
    const { logger } = capturingLogger();
    const link = createIlpLink({
      createPlugin: () =>
        createIlpPlugin({ plugin: 'ilp-plugin-btp', credentials: testBtpCredentials(), btpServer: null }),
      logger,
      providerLabel: 'test',
    });
    link.start();
    after(() => link.stop());
    await until('the link is ready', () => Promise.resolve(link.ready()));
    let clock = 1_000_000;
    const receiver = createPaymentReceiver({
      link,
      packets: { record: () => Promise.resolve() },
      logger,
      now: () => clock,
      maxPending: 2,
      pendingTtlMs: 1_000,
    });
    after(() => receiver.close());

    receiver.challenge(randomBytes(16));
    receiver.challenge(randomBytes(16));
    assert.throws(
      () => receiver.challenge(randomBytes(16)),
      (error: unknown) => isCodiusError(error, 'too_many_pending_payments'),
    );
    clock += 1_001;
    assert.match(receiver.challenge(randomBytes(16)), /^interledger-stream /, 'stale ones were dropped');
    assert.equal(receiver.stats().pending, 1);

    // A payer that got its address some other way (or whose token expired) is refused.
    const unknown = link.credentialsFor(randomBytes(16).toString('hex'));
    const plugin = createIlpPlugin({
      plugin: 'ilp-plugin-btp',
      credentials: testBtpCredentials(),
      btpServer: null,
    });
    // The refused payer gives up after 2 s of silence instead of the default 60 s.
    const connection = await createConnection({ plugin, ...unknown, idleTimeout: 2_000 });
    const stream = connection.createStream();
    stream.setSendMax(1000);
    stream.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => connection.once('close', () => resolve()));
    stream.write('hello');
    await closed;
    assert.equal(stream.totalSent, '0');
    await plugin.disconnect().catch(() => undefined);
  });
});

describe('ILP provider outages and other host settings', () => {
  it('keeps serving without moneyd, refuses uploads before payment, and recovers when it returns', async () => {
    const host = await startApp({ CODIUS_RUNTIME: 'hyperd', CODIUS_HYPER_NOOP: 'true' });
    await until('connected', async () => (await info(host.url)).acceptingUploads);
    await moneyd.stop();
    await until('the outage is reported', async () => !(await info(host.url)).acceptingUploads);
    const manifest = webManifest('outage');
    const refused = await fetch(`${host.url}/pods?duration=60`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Pay-Token': randomBytes(16).toString('base64url') },
      body: JSON.stringify({ manifest }),
    });
    assert.equal(refused.status, 503);
    assert.match(((await refused.json()) as { message: string }).message, /cannot take payments right now/);
    assert.equal((await fetch(`${host.url}/version`)).status, 200, 'still serving');

    await moneyd.restart();
    await until('reconnected', async () => (await info(host.url)).acceptingUploads, 20_000);
    assert.match(host.logs.text(), /lost the ILP provider; reconnecting/);
    assert.match(host.logs.text(), /reconnected to the ILP provider/);
  });

  it('starts without any ILP provider and says so in /info', async () => {
    const port = await freePort();
    const host = await startApp({
      CODIUS_RUNTIME: 'hyperd',
      CODIUS_HYPER_NOOP: 'true',
      ILP_CREDENTIALS: '',
      ILP_BTP_SERVER: `btp+ws://127.0.0.1:${port}`,
    });
    const shown = await info(host.url);
    assert.equal(shown.acceptingUploads, false);
    assert.equal(shown.currency, null);
    const quote = await fetch(`${host.url}/pods?duration=60`, {
      method: 'OPTIONS',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ manifest: webManifest('no-ilp') }),
    });
    assert.equal(quote.status, 503);
  });

  it('refuses uploads with 503 when the host is full, before payment', async () => {
    const host = await startApp({
      CODIUS_RUNTIME: 'hyperd',
      CODIUS_HYPER_NOOP: 'true',
      CODIUS_MAX_MEMORY_FRACTION: '0.000001',
    });
    await until('connected', async () => (await info(host.url)).currency === 'XRP');
    const response = await fetch(`${host.url}/pods?duration=60`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Pay-Token': randomBytes(16).toString('base64url') },
      body: JSON.stringify({ manifest: webManifest('full') }),
    });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('pay'), null);
    assert.equal(
      ((await response.json()) as { message: string }).message,
      'Memory usage exceeded. Send pod request later.',
    );
  });

  it('asks for the zero-amount handshake on OPTIONS in stream quote mode', async () => {
    const host = await startApp({
      CODIUS_RUNTIME: 'hyperd',
      CODIUS_HYPER_NOOP: 'true',
      CODIUS_QUOTE_MODE: 'stream',
    });
    await until('connected', async () => (await info(host.url)).acceptingUploads);
    const payer = createPayingClient();
    after(() => payer.close());
    const manifest = webManifest('stream-quote');
    const quote = await payer.request(`${host.url}/pods?duration=600`, {
      method: 'OPTIONS',
      body: { manifest },
      maxPrice: 0n,
    });
    assert.equal(quote.first.status, 402);
    assert.equal(quote.status, 200, quote.body);
    assert.equal(quote.totalSent, 0n);
    assert.equal(quote.json().price, PRICE_600.toString());
  });
});
