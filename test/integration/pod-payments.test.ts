// Pods that are paid and pay, end to end on real components: a real `moneyd local`, a bin/codiusd process
// with its connector, real pods whose app uses nothing but `require('ilp-plugin')()` and
// ilp-protocol-stream, an outside payer and an outside receiver on moneyd.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createConnection,
  createServer as createStreamServer,
  type Connection,
  type DataAndMoneyStream,
  type Server,
} from 'ilp-protocol-stream';
import type { Manifest } from '../../src/domain/types.js';
import { createIlpPlugin } from '../../src/ilp/plugin.js';
import { fixIlpProtocolStream } from '../../src/ilp/stream-compat.js';
import { hashManifest } from '../../src/manifest/hash.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { freePort, startDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { createPayingClient } from '../helpers/ilp-client.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { createTestHost } from '../helpers/netns.js';
import { dependencyClosure } from '../helpers/node-modules.js';
import { callPod } from '../helpers/pod-app.js';
import { podAddress, setupPodman, waitForHttp } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until, untilAcceptingUploads } from '../helpers/wait.js';

fixIlpProtocolStream();
await setupMoneyd();
const fixture = await setupPodman();
const ilpImage = await fixture.nodeAppImage(
  fileURLToPath(new URL('../../../examples/earn-and-spend/', import.meta.url)),
  'app.mjs',
  dependencyClosure(['ilp-plugin', 'ilp-plugin-btp', 'ilp-protocol-stream', 'ilp-packet']),
);
const probeImage = await fixture.nodeAppImage(
  fileURLToPath(new URL('../../../test/fixtures/probe-pod/', import.meta.url)),
  'probe.mjs',
  [],
);
const gateway = fixture.subnet.replace(/\.0\/\d+$/, '.1');
const PRICE_600 = 2_283_106n;

const root = await tempDir();
fixture.adoptHostId(hostIdFromSecret((await loadOrCreateHostSecret(root)).secret));
const env = fixture.daemonEnv(root, await freePort());
let daemon: DaemonProcess & { url: string } = await startDaemon(env);
const payer = createPayingClient();
after(() => payer.close());

/** A plugin of the test's own on moneyd: an outside party of the host's ILP network. */
function outsidePlugin() {
  const plugin = createIlpPlugin({
    plugin: 'ilp-plugin-btp',
    credentials: testBtpCredentials(),
    btpServer: null,
  });
  after(() => plugin.disconnect().catch(() => undefined));
  return plugin;
}

async function upload(name: string, image: string): Promise<{ hash: string; ip: string }> {
  await untilAcceptingUploads(daemon.url);
  const manifest: Manifest = {
    name: `${name}-${Date.now()}`,
    version: '1.0.0',
    port: '3000',
    containers: [{ id: 'app', image, environment: { PAY_TOKEN } }],
  };
  const paid = await payer.request(`${daemon.url}/pods?duration=600`, {
    method: 'POST',
    body: { manifest },
    maxPrice: PRICE_600,
  });
  assert.equal(paid.status, 200, paid.body);
  const hash = hashManifest(manifest);
  const ip = await podAddress(hash, fixture.network);
  await waitForHttp(`http://${ip}:3000/`, 20_000);
  return { hash, ip };
}

/** The example's spending key: POST /pay needs it. */
const PAY_TOKEN = 'pod-payments-test-token';

function call<T>(
  ip: string,
  path: string,
  method = 'GET',
  authorization = `Bearer ${PAY_TOKEN}`,
): Promise<T> {
  return callPod<T>(ip, path, method, authorization);
}

/** Waits until a pod's balance is `amount`: packets in flight hold money until they resolve. */
async function settled(hash: string, amount: string, what = 'the balance settled'): Promise<void> {
  await until(`${what} at ${amount}`, async () => (await balanceOf(hash)).amount === amount, 45_000);
}

async function balanceOf(hash: string): Promise<{ amount: string; assetCode: string; assetScale: number }> {
  const shown = (await (await fetch(`${daemon.url}/pods?manifestHash=${hash}`)).json()) as {
    ilpBalance: { amount: string; assetCode: string; assetScale: number };
  };
  return shown.ilpBalance;
}

/** Pays `amount` from outside to a pod's STREAM address; resolves with what was delivered. */
async function payPod(ip: string, amount: number): Promise<bigint> {
  const address = await call<{ destinationAccount: string; sharedSecret: string }>(ip, '/address');
  const connection = await createConnection({
    plugin: outsidePlugin(),
    destinationAccount: address.destinationAccount,
    sharedSecret: Buffer.from(address.sharedSecret, 'base64'),
  });
  const stream = connection.createStream();
  await stream.sendTotal(amount, { timeout: 20_000 });
  const sent = BigInt(stream.totalSent);
  await connection.end();
  return sent;
}

/** An outside STREAM receiver: what pods pay it arrives here. */
async function outsideReceiver(): Promise<{ server: Server; received: () => bigint }> {
  const server = await createStreamServer({ plugin: outsidePlugin() });
  let received = 0n;
  server.on('connection', (connection: Connection) => {
    connection.on('stream', (incoming: DataAndMoneyStream) => {
      incoming.setReceiveMax('18446744073709551615');
      incoming.on('money', (amount: string) => (received += BigInt(amount)));
    });
  });
  after(() => server.close());
  return { server, received: () => received };
}

// A host without pods runs no connector: the first pod starts it.
await daemon.waitForOutput(/the pod connector starts with the first pod/);
assert.doesNotMatch(daemon.output(), /pod connector ready/);
const earner = await upload('earner', ilpImage);
await daemon.waitForOutput(/pod connector ready/, 20_000);
const other = await upload('other', ilpImage);

describe('pods that earn and spend over Interledger', () => {
  it('gives every container the standard ILP configuration', async () => {
    const seen = await call<{ env: { ILP_PLUGIN: string; hasCredentials: boolean } }>(earner.ip, '/');
    assert.deepEqual(seen.env, { ILP_PLUGIN: 'ilp-plugin-btp', hasCredentials: true });
    const address = await call<{ account: string }>(earner.ip, '/address');
    assert.match(address.account, /^private\.moneyd\.local\.[^.]+\.pods\.[A-Za-z0-9_-]{43}$/);
    const stranger = await call<{ error: string }>(earner.ip, '/pay?amount=1', 'POST', 'Bearer guess');
    assert.match(stranger.error, /needs Authorization/, 'only the owner may spend the pod’s money');
  });

  it('is paid from outside, pays an outside receiver, and can never spend more than it holds', async (t) => {
    assert.deepEqual(await balanceOf(earner.hash), { amount: '0', assetCode: 'XRP', assetScale: 9 });
    assert.equal(await payPod(earner.ip, 10_000), 10_000n);
    await until(
      'the pod saw the money',
      async () => (await call<{ received: string }>(earner.ip, '/received')).received === '10000',
    );
    // The pod's own STREAM server probes the rate back towards the payer: those packets hold (debit) what
    // they carry until they are rejected, so the balance is read once they have resolved.
    await settled(earner.hash, '10000', 'credited exactly');

    const receiver = await outsideReceiver();
    const { destinationAccount, sharedSecret } = receiver.server.generateAddressAndSecret();
    const secret = encodeURIComponent(sharedSecret.toString('base64'));
    const paid = await call<{ sent: string; error?: string }>(
      earner.ip,
      `/pay?destination=${destinationAccount}&secret=${secret}&amount=4000`,
      'POST',
    );
    assert.equal(paid.sent, '4000', JSON.stringify(paid));
    await until('the receiver got it', () => Promise.resolve(receiver.received() === 4000n));
    // Probe packets the pod's STREAM sent are held until they resolve (at the latest when they expire).
    await settled(earner.hash, '6000');

    const greedy = await call<{ sent: string; error?: string }>(
      earner.ip,
      `/pay?destination=${destinationAccount}&secret=${secret}&amount=100000`,
      'POST',
    );
    const overdraft = BigInt(greedy.sent);
    assert.ok(greedy.error, 'the pod was told it cannot send that much');
    assert.ok(overdraft <= 6000n, `sent ${overdraft}`);
    await settled(earner.hash, (6000n - overdraft).toString(), 'what it sent was taken, nothing more');
    t.diagnostic(
      `money flow: in 10000, out 4000, then asked to send 100000 holding 6000: sent ${overdraft}, refused the rest (${greedy.error ?? ''}); left ${6000n - overdraft}`,
    );
    await until('the receiver got what was sent', () =>
      Promise.resolve(receiver.received() === 4000n + overdraft),
    );
  });

  it("does not let a second pod spend the first one's money", async () => {
    const receiver = await outsideReceiver();
    const { destinationAccount, sharedSecret } = receiver.server.generateAddressAndSecret();
    const before = (await balanceOf(earner.hash)).amount;
    const attempt = await call<{ sent: string; error?: string }>(
      other.ip,
      `/pay?destination=${destinationAccount}&secret=${encodeURIComponent(sharedSecret.toString('base64'))}&amount=100`,
      'POST',
    );
    assert.equal(attempt.sent, '0');
    assert.ok(attempt.error);
    await settled(other.hash, '0');
    assert.equal((await balanceOf(earner.hash)).amount, before);
  });

  it('refuses a BTP client whose secret is no pod of this host’s', async () => {
    const stranger = createIlpPlugin({
      plugin: 'ilp-plugin-btp',
      credentials: { server: `btp+ws://:not-a-pod-secret@${gateway}:7768`, reconnectInterval: 60_000 },
      btpServer: null,
    });
    after(() => stranger.disconnect().catch(() => undefined));
    await assert.rejects(
      Promise.race([
        stranger.connect(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('not accepted')), 5_000)),
      ]),
    );
  });

  it('reads no oversized frame from a pod before it authenticates: three 95 MiB frames leave codiusd’s memory alone', async (t) => {
    const probe = await upload('flooder', probeImage);
    const rss = async (): Promise<number> =>
      Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${daemon.child.pid}/status`, 'utf8'))?.[1]) / 1024;
    const before = await rss();
    const flood = await call<{ upgraded: number; mibSent: number[] }>(
      probe.ip,
      `/btp-flood?host=${gateway}&port=7768&connections=3&mib=95`,
    );
    const afterwards = await rss();
    t.diagnostic(
      `RSS ${before.toFixed(0)} MiB before, ${afterwards.toFixed(0)} MiB after; MiB sent per connection before it was cut: ${flood.mibSent.join(', ')}`,
    );
    assert.equal(flood.upgraded, 3);
    assert.ok(afterwards - before < 40, `codiusd grew by ${(afterwards - before).toFixed(0)} MiB`);
    assert.ok(
      flood.mibSent.every((mib) => mib < 95),
      'every connection was cut before its frame ended',
    );
  });

  it('keeps the exact balance through kill -9 and a restart', async (t) => {
    const before = await balanceOf(earner.hash);
    t.diagnostic(`balance before kill -9: ${before.amount} ${before.assetCode} (scale ${before.assetScale})`);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    daemon = await startDaemon(env);
    assert.deepEqual(await balanceOf(earner.hash), before);
  });

  it('reaches only the connector port on this host, not the ILP provider', async () => {
    const probe = await upload('probe', probeImage);
    const outcome = async (host: string, port: number) =>
      (await call<{ outcome: string }>(probe.ip, `/tcp?host=${host}&port=${port}`)).outcome;
    // An address of this host on a link of the test's own: the connector's port is open on the gateway only.
    const elsewhere = await createTestHost({ linkRange: '10.213.0.0/16' });
    assert.equal(await outcome(gateway, 7768), 'connected', "the connector's BTP endpoint");
    assert.equal(
      await outcome(elsewhere.hostSide, 7768),
      'timeout',
      'that port on another address of this host',
    );
    assert.equal(await outcome(gateway, 7769), 'timeout', 'any other port of this host');
    assert.equal(
      await outcome('127.0.0.1', 7768),
      'refused',
      "moneyd's loopback is the host's, not the pod's",
    );
  });
});
