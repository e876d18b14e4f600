/**
 * Per-payment latency into a pod's own ILP account. Real components: `moneyd local`, codiusd in-process
 * with its pod connector on real Podman, and a pod whose app (examples/earn-and-spend) is a STREAM server
 * on `require('ilp-plugin')()`. An outside payer on moneyd opens one STREAM connection to the pod and sends
 * N payments one after the other; each is timed from sendTotal until the money is fulfilled, which
 * includes the connector's committed credit of the pod's balance in sqlite.
 * Baseline in the same run: the same N payments to a STREAM server of the bench's own, on moneyd directly.
 * Usage: npm run bench:pod-ilp [-- payments]   (root, Podman set up by scripts/setup-podman.sh; port 7768 free)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createConnection,
  createServer,
  type Connection,
  type DataAndMoneyStream,
} from 'ilp-protocol-stream';
import { createApp } from '../src/app/app.js';
import { createIlpPlugin } from '../src/ilp/plugin.js';
import { startEmbeddedMoneyd } from '../src/ilp/moneyd-local.js';
import { fixIlpProtocolStream } from '../src/ilp/stream-compat.js';
import { createLogger } from '../src/logger.js';
import { createPayingClient } from '../test/helpers/ilp-client.js';
import { testBtpCredentials } from '../test/helpers/moneyd.js';
import { dependencyClosure } from '../test/helpers/node-modules.js';
import { benchHostConfig } from './lib/bench-host.js';
import { startBenchPodman } from './lib/bench-podman.js';
import { importNodeAppImage, median, percentile, podman, untilServing } from './lib/podman-bench.js';

const payments = Number(process.argv[2] ?? 100);
const AMOUNT = 1_000;
const ROOT = new URL('../../', import.meta.url);

const outsidePlugin = () =>
  createIlpPlugin({ plugin: 'ilp-plugin-btp', credentials: testBtpCredentials(), btpServer: null });

function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body) as T));
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Sends `count` payments of AMOUNT on one STREAM connection; the milliseconds each took. */
async function timedPayments(address: { destinationAccount: string; sharedSecret: string }, count: number) {
  const plugin = outsidePlugin();
  const connection = await createConnection({
    plugin,
    destinationAccount: address.destinationAccount,
    sharedSecret: Buffer.from(address.sharedSecret, 'base64'),
  });
  const stream = connection.createStream();
  const took: number[] = [];
  try {
    for (let i = 1; i <= count; i += 1) {
      const started = performance.now();
      await stream.sendTotal(i * AMOUNT, { timeout: 20_000 });
      took.push(performance.now() - started);
    }
  } finally {
    await connection.end().catch(() => undefined);
    await plugin.disconnect().catch(() => undefined);
  }
  return took;
}

/** A STREAM receiver of the bench's own on moneyd: the baseline without codiusd's connector. */
async function directReceiver() {
  const plugin = outsidePlugin();
  const server = await createServer({ plugin });
  server.on('connection', (connection: Connection) => {
    connection.on('stream', (incoming: DataAndMoneyStream) => incoming.setReceiveMax('18446744073709551615'));
  });
  const { destinationAccount, sharedSecret } = server.generateAddressAndSecret();
  return {
    address: { destinationAccount, sharedSecret: sharedSecret.toString('base64') },
    close: async () => {
      await server.close();
      await plugin.disconnect().catch(() => undefined);
    },
  };
}

async function main(): Promise<void> {
  fixIlpProtocolStream();
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-bench-pod-ilp-'));
  const tag = randomBytes(4).toString('hex');
  const image = `localhost/codius-bench/ilp-pod:${tag}`;
  const network = `ci${tag.slice(0, 6)}`;
  await importNodeAppImage({
    dir,
    image,
    appDir: fileURLToPath(new URL('examples/earn-and-spend/', ROOT)),
    entry: 'app.mjs',
    modules: dependencyClosure(['ilp-plugin', 'ilp-plugin-btp', 'ilp-protocol-stream', 'ilp-packet']),
    nodeModules: fileURLToPath(new URL('node_modules/', ROOT)),
  });
  const quiet = createLogger('warn');
  const moneyd = await startEmbeddedMoneyd({ logger: quiet });
  const bench = await startBenchPodman(dir, network, quiet);
  const { service, root } = bench;
  const app = createApp({
    config: benchHostConfig({ root, podmanSocket: service.socketPath, network }),
    logger: quiet,
  });
  const payer = createPayingClient();
  let viaPod: number[] = [];
  let direct: number[] = [];
  try {
    await app.start();
    const url = app.listeningUrl();
    while (!((await (await fetch(`${url}/info`)).json()) as { acceptingUploads: boolean }).acceptingUploads) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const manifest = {
      name: `bench-ilp-${tag}`,
      version: '1',
      port: '3000',
      containers: [{ id: 'app', image }],
    };
    const paid = await payer.request(`${url}/pods?duration=600`, {
      method: 'POST',
      body: { manifest },
      maxPrice: 10_000_000n,
    });
    if (paid.status !== 200) throw new Error(`upload failed: ${paid.status} ${paid.body}`);
    const hash = String(paid.json().manifestHash);
    const infra = await podman('pod', 'inspect', `codius-${hash}`, '--format', '{{.InfraContainerID}}');
    const ip = await podman(
      'inspect',
      infra,
      '--format',
      `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
    );
    await untilServing(`http://${ip}:3000/`);
    const podAddress = await getJson<{ destinationAccount: string; sharedSecret: string }>(
      `http://${ip}:3000/address`,
    );
    const receiver = await directReceiver();
    try {
      // A few of each first, so neither side is measured while it is still warming up.
      await timedPayments(podAddress, 5);
      await timedPayments(receiver.address, 5);
      viaPod = await timedPayments(podAddress, payments);
      direct = await timedPayments(receiver.address, payments);
    } finally {
      await receiver.close();
    }
    const shown = (await (await fetch(`${url}/pods?manifestHash=${hash}`)).json()) as {
      ilpBalance: { amount: string };
    };
    const expected = BigInt((payments + 5) * AMOUNT);
    if (BigInt(shown.ilpBalance.amount) !== expected) {
      throw new Error(`the pod holds ${shown.ilpBalance.amount}, not ${expected}`);
    }
  } finally {
    await payer.close();
    await app.stop();
    await bench.tearDown({ network, images: [image], alsoStop: [() => moneyd.stop()] });
  }

  console.log(
    `${payments} STREAM payments of ${AMOUNT} base units each, one connection, one after the other`,
  );
  console.log(
    `${'receiver'.padEnd(52)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'p50 / baseline'.padStart(16)}`,
  );
  const base = median(direct);
  for (const [label, values] of [
    ['pod account (moneyd -> codiusd connector -> pod)', viaPod],
    ['baseline: STREAM server on moneyd directly', direct],
  ] as const) {
    console.log(
      `${label.padEnd(52)}${median(values).toFixed(1).padStart(8)}${percentile(values, 0.99).toFixed(1).padStart(8)}${(median(values) / base).toFixed(2).padStart(16)}`,
    );
  }
}

await main();
// STREAM close packets to payers that already left wait out their BTP timeout; nothing else is pending.
process.exit(0);
