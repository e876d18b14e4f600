import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import { createLifecycle } from '../../src/app/lifecycle.js';
import type { PhaseContext } from '../../src/app/phases.js';
import { podEnvironment, podHostPorts, podPayments } from '../../src/app/pod-payments.js';
import { loadConfig } from '../../src/config/config.js';
import { createPodAccountsPlugin } from '../../src/connector/pod-accounts-plugin.js';
import { createPodBalances } from '../../src/connector/pod-balances.js';
import {
  connectorParentSettings,
  podAccountId,
  podIlpEnvironment,
} from '../../src/connector/pod-connector.js';
import { createPodEndpoint, MAX_CONNECTIONS_PER_POD } from '../../src/connector/pod-endpoint.js';
import { BTP_MAX_FRAME_BYTES } from '../../src/connector/pod-accounts-plugin.js';
import WebSocket from 'ws';
import { createIlpPlugin, type IlpPlugin } from '../../src/ilp/plugin.js';
import { openStore } from '../../src/store/store.js';
import { freePort } from '../helpers/daemon.js';
import { capturingLogger } from '../helpers/logs.js';
import { createHostMetrics } from '../../src/metrics/host-metrics.js';
import { lateBoundSources } from '../../src/metrics/late-sources.js';

const requireHere = createRequire(import.meta.url);
interface Prepare {
  amount: string;
  destination: string;
  executionCondition: Buffer;
  expiresAt: Date;
  data: Buffer;
}
const IlpPacket = requireHere('ilp-packet') as {
  serializeIlpPrepare(p: Prepare): Buffer;
  serializeIlpFulfill(f: { fulfillment: Buffer; data: Buffer }): Buffer;
  serializeIlpReject(r: { code: string; message: string; triggeredBy: string; data: Buffer }): Buffer;
  deserializeIlpPrepare(b: Buffer): Prepare;
  deserializeIlpPacket(b: Buffer): { type: number; data: { code?: string; message?: string } };
};
const ILDCP = requireHere('ilp-protocol-ildcp') as {
  serve(o: {
    requestPacket: Buffer;
    handler: () => Promise<unknown>;
    serverAddress: string;
  }): Promise<Buffer>;
};

const XRP = { code: 'XRP', scale: 9 };
/** What each pod may send at once here (refilling at one packet a second, so a test's timing does not matter). */
const PACKET_BURST = 100;
const HOST = 'test.host.pods';
const hostSecret = randomBytes(32);
const earner = 'e'.repeat(52);
const stranger = 's'.repeat(52);

const store = await openStore({ root: '', inMemory: true });
after(() => store.close());
const balances = createPodBalances(store);
/** What the fake connector answers packets pods send: fulfilled unless told otherwise. */
let upstream: 'fulfill' | 'reject' = 'fulfill';
const fulfillment = randomBytes(32);
const condition = createHash('sha256').update(fulfillment).digest();

const accounts = createPodAccountsPlugin({
  podOfAccount: (account) =>
    Promise.resolve(
      account === podAccountId(hostSecret, earner)
        ? earner
        : account === podAccountId(hostSecret, stranger)
          ? stranger
          : undefined,
    ),
  balances,
  asset: () => XRP,
  port: 0,
  logger: capturingLogger().logger,
  authDeadlineMs: 300,
  packetLimit: { burst: PACKET_BURST, perSecond: 1 },
});
accounts.plugin.registerDataHandler(async (data: Buffer) => {
  const prepare = IlpPacket.deserializeIlpPrepare(data);
  if (prepare.destination === 'peer.config') {
    return ILDCP.serve({
      requestPacket: data,
      handler: () => Promise.resolve({ clientAddress: HOST, assetCode: 'XRP', assetScale: 9 }),
      serverAddress: 'test.host',
    });
  }
  return upstream === 'fulfill'
    ? IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) })
    : IlpPacket.serializeIlpReject({
        code: 'F02',
        message: 'unreachable',
        triggeredBy: 'test.host',
        data: Buffer.alloc(0),
      });
});
await accounts.plugin.connect();
const port = await freePort();
const endpoint = createPodEndpoint({
  host: '127.0.0.1',
  port,
  onUpgrade: (req, socket, head) => accounts.handleUpgrade(req, socket, head),
  logger: capturingLogger().logger,
});
endpoint.start();
after(async () => {
  await endpoint.stop();
  await accounts.plugin.disconnect();
});
while (!endpoint.bound()) await new Promise((resolve) => setTimeout(resolve, 10));

/** A pod's side: ilp-plugin-btp with the credentials its containers are given. */
async function podPlugin(hash: string, handler: (data: Buffer) => Promise<Buffer>): Promise<IlpPlugin> {
  const credentials = JSON.parse(
    podIlpEnvironment(hostSecret, { host: '127.0.0.1', port })(hash).find((v) => v.name === 'ILP_CREDENTIALS')
      ?.value ?? '{}',
  ) as Record<string, unknown>;
  const plugin = createIlpPlugin({ plugin: 'ilp-plugin-btp', credentials, btpServer: null });
  plugin.registerDataHandler(handler);
  await plugin.connect();
  after(() => plugin.disconnect());
  return plugin;
}

function prepare(amount: number, destination: string): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount: String(amount),
    destination,
    executionCondition: condition,
    expiresAt: new Date(Date.now() + 10_000),
    data: Buffer.alloc(0),
  });
}

const fulfillAll = () =>
  Promise.resolve(IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) }));
const earnerPod = await podPlugin(earner, fulfillAll);
const earnerAddress = `${HOST}.${podAccountId(hostSecret, earner)}`;

describe('pod accounts', () => {
  it('credits a pod before the fulfillment goes back, and keeps the balance in the store', async () => {
    const response = await accounts.plugin.sendData(prepare(700, `${earnerAddress}.stream-token`));
    assert.equal(IlpPacket.deserializeIlpPacket(response).type, 13, 'fulfilled');
    assert.equal((await store.podAccounts.get(earner))?.balance, 700n);
  });

  it('lets a pod send what it holds, refuses more (T04), and gives back what did not go through', async () => {
    upstream = 'fulfill';
    const sent = await earnerPod.sendData(prepare(300, 'test.elsewhere'));
    assert.equal(IlpPacket.deserializeIlpPacket(sent).type, 13);
    assert.equal((await store.podAccounts.get(earner))?.balance, 400n);
    const tooMuch = IlpPacket.deserializeIlpPacket(await earnerPod.sendData(prepare(401, 'test.elsewhere')));
    assert.deepEqual(
      [tooMuch.type, tooMuch.data.code, tooMuch.data.message],
      [14, 'T04', 'account has insufficient balance.'],
    );
    upstream = 'reject';
    const rejected = IlpPacket.deserializeIlpPacket(await earnerPod.sendData(prepare(400, 'test.elsewhere')));
    assert.equal(rejected.type, 14);
    assert.equal((await store.podAccounts.get(earner))?.balance, 400n, 'a rejected packet costs nothing');
  });

  it("does not let one pod spend another's money", async () => {
    upstream = 'fulfill';
    const strangerPod = await podPlugin(stranger, fulfillAll);
    const refused = IlpPacket.deserializeIlpPacket(await strangerPod.sendData(prepare(1, 'test.elsewhere')));
    assert.equal(refused.data.code, 'T04');
    assert.equal((await store.podAccounts.get(earner))?.balance, 400n);

    // A payment that cannot be booked is not fulfilled upstream, whatever the pod answered.
    await store.podAccounts.credit(stranger, 1n, { code: 'USD', scale: 2 });
    const unbooked = IlpPacket.deserializeIlpPacket(
      await accounts.plugin.sendData(prepare(50, `${HOST}.${podAccountId(hostSecret, stranger)}`)),
    );
    assert.deepEqual([unbooked.type, unbooked.data.code], [14, 'T00']);
    assert.equal((await store.podAccounts.get(stranger))?.balance, 1n);
  });

  it('refuses a BTP client whose secret is no pod of this host’s', async () => {
    const plugin = createIlpPlugin({
      plugin: 'ilp-plugin-btp',
      credentials: {
        server: `btp+ws://:${randomBytes(16).toString('hex')}@127.0.0.1:${port}`,
        reconnectInterval: 60_000,
      },
      btpServer: null,
    });
    after(() => plugin.disconnect().catch(() => undefined));
    await assert.rejects(
      Promise.race([
        plugin.connect(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('not accepted')), 3_000)),
      ]),
    );
  });
});

describe('the pods’ BTP endpoint under abuse', () => {
  /** A raw WebSocket to the endpoint, as a pod could open one; resolves once open (or refused). */
  function raw(): Promise<{ ws: WebSocket; closed: Promise<number> } | { refused: number }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
      ws.once('open', () => resolve({ ws, closed }));
      ws.once('unexpected-response', (_req, res) => resolve({ refused: res.statusCode ?? 0 }));
      ws.on('error', () => undefined);
    });
  }

  it('ends a connection whose frame is larger than BTP needs, before reading it', async () => {
    const opened = await raw();
    assert.ok('ws' in opened);
    // Read whole, a frame this size would be taken as a (bad) authentication and closed normally.
    opened.ws.send(Buffer.alloc(16 * BTP_MAX_FRAME_BYTES));
    assert.ok([1006, 1009].includes(await opened.closed), 'cut off as too big, not read');
  });

  it('closes a connection that does not authenticate in time', async () => {
    const opened = await raw();
    assert.ok('ws' in opened);
    const started = Date.now();
    await opened.closed;
    assert.ok(Date.now() - started < 3_000);
  });

  it('takes a bounded number of connections from one pod', async () => {
    const connections = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_POD + 1; i += 1) connections.push(await raw());
    const statuses = connections.map((c) => ('refused' in c ? c.refused : 101));
    // The earner's own plugin holds one already.
    assert.equal(statuses.filter((s) => s === 503).length, 2, statuses.join(','));
    for (const c of connections) if ('ws' in c) c.ws.terminate();
  });

  it('limits packets per pod: one pod’s flood is refused (T05) while another pod’s payment goes through', async () => {
    upstream = 'fulfill';
    const strangerPod = await podPlugin(stranger, fulfillAll);
    const flood = await Promise.all(
      Array.from({ length: 3 * PACKET_BURST }, () => earnerPod.sendData(prepare(0, 'test.elsewhere'))),
    );
    const codes = flood.map((b) => IlpPacket.deserializeIlpPacket(b).data.code ?? 'fulfilled');
    const limited = codes.filter((c) => c === 'T05').length;
    assert.ok(
      limited >= 2 * PACKET_BURST - 20,
      `the flood was limited: ${limited} of ${codes.length} refused`,
    );
    const other = IlpPacket.deserializeIlpPacket(await strangerPod.sendData(prepare(0, 'test.elsewhere')));
    assert.equal(other.type, 13, 'the other pod is not slowed by the first one’s flood');
  });
});

describe('pod connector settings', () => {
  it('gives the connector an account of its own at the ILP provider', () => {
    const random = { plugin: 'ilp-plugin-btp', credentials: null, btpServer: null };
    assert.equal(connectorParentSettings(random), random, 'a random secret per plugin anyway');
    const fixed = {
      plugin: 'ilp-plugin-btp',
      credentials: { server: 'btp+ws://:s3cret@localhost:7768', x: 1 },
      btpServer: null,
    };
    const derived = connectorParentSettings(fixed);
    assert.match(String(derived?.credentials?.server), /^btp\+ws:\/\/:[0-9a-f]{64}@localhost:7768$/);
    assert.equal(derived?.credentials?.x, 1);
    assert.equal(
      connectorParentSettings({
        plugin: 'ilp-plugin-xrp-asym-client',
        credentials: { secret: 's' },
        btpServer: null,
      }),
      null,
    );
  });

  it('gives pods the standard ilp-plugin variables, the credentials marked secret', () => {
    const [plugin, credentials, rent] = podIlpEnvironment(hostSecret, { host: '10.89.240.1', port: 7768 })(
      earner,
    );
    assert.deepEqual(rent, {
      name: 'CODIUS_RENT_SPSP',
      value: `http://10.89.240.1:7768/pods/${earner}/rent`,
      secret: false,
    });
    assert.deepEqual(plugin, { name: 'ILP_PLUGIN', value: 'ilp-plugin-btp', secret: false });
    assert.ok(credentials);
    assert.equal(credentials.secret, true);
    assert.match(credentials.value, /^\{"server":"btp\+ws:\/\/:[0-9a-f]{64}@10\.89\.240\.1:7768"\}$/);
  });
});

describe('pod accounts in the store', () => {
  it('keeps one asset per account and takes only positive amounts', async () => {
    const hash = 'a'.repeat(52);
    assert.equal(await store.podAccounts.credit(hash, 5n, XRP), 5n);
    await assert.rejects(
      store.podAccounts.credit(hash, 1n, { code: 'USD', scale: 2 }),
      /is in XRP\/9, not USD\/2/,
    );
    await assert.rejects(store.podAccounts.debit(hash, 1n, { code: 'XRP', scale: 6 }), /not XRP\/6/);
    await assert.rejects(store.podAccounts.credit(hash, 0n, XRP), RangeError);
    await assert.rejects(store.podAccounts.debit(hash, -1n, XRP), RangeError);
    assert.equal(await store.podAccounts.debit('b'.repeat(52), 1n, XRP), null, 'no account, nothing to take');
    assert.ok(
      (await store.podAccounts.list()).some((account) => account.hash === hash && account.balance === 5n),
    );
  });
});

describe('pod payments phase', () => {
  const contextFor = (env: Record<string, string>) => {
    const logs = capturingLogger();
    const context: PhaseContext = {
      lifecycle: createLifecycle(logs.logger),
      config: loadConfig({ CODIUS_PUBLIC_URI: 'https://codius.example.com', ...env }),
      logger: logs.logger,
      machine: { freeMemory: () => 1, totalMemory: () => 1, loadAverage: () => 0, uptime: () => 1 } as never,
      runtimeDrivers: {} as never,
      metrics: createHostMetrics(lateBoundSources().sources),
    };
    return { context, logs };
  };

  it('opens the connector port to pods and gives Podman pods their ILP variables', () => {
    const { context } = contextFor({ CODIUS_POD_ILP_PORT: '7790' });
    assert.deepEqual(podHostPorts(context), [{ port: 7790, protocol: 'tcp' }]);
    const variables = podEnvironment(context, hostSecret)?.(earner) ?? [];
    assert.match(variables[1]?.value ?? '', /@10\.89\.240\.1:7790"\}$/);
  });

  it('gives hyperd pods no variables (their sidecar has the account) and a no-op hyperd no port', () => {
    assert.equal(podEnvironment(contextFor({ CODIUS_RUNTIME: 'hyperd' }).context, hostSecret), undefined);
    const noop = contextFor({ CODIUS_RUNTIME: 'hyperd', CODIUS_HYPER_NOOP: 'true' }).context;
    assert.deepEqual(podHostPorts(noop), []);
    const off = contextFor({ CODIUS_POD_ILP: 'false' }).context;
    assert.deepEqual([podHostPorts(off), podEnvironment(off, hostSecret)], [[], undefined]);
  });

  it('starts no connector, and says why, when the ILP provider has no second account to give', async () => {
    const { context, logs } = contextFor({
      ILP_PLUGIN: 'ilp-plugin-xrp-asym-client',
      ILP_CREDENTIALS: '{"secret":"s"}',
    });
    const base = { store, hostSecret, hostId: 'h' };
    assert.equal(
      await podPayments(context, base, {} as never, { size: () => 0, whenLoaded: () => Promise.resolve() }),
      undefined,
    );
    assert.match(logs.text(), /pods get no ILP accounts: the connector needs a BTP account of its own/);
  });
});
