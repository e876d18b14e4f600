/**
 * A paid upload end to end, as a user sees it: from the first request of `POST /pods` until the pod's
 * first 200 through codiusd's proxy. Real components: codiusd in-process on real Podman, `moneyd local`,
 * and a STREAM payer doing ilp-fetch's HTTP-ILP handshake (test/helpers/ilp-client.ts). N fresh
 * manifests, one after the other; median and p90 of each phase:
 *   handshake  first request, 402 challenge, STREAM connection until the host's ready byte
 *   payment    retried request until the host has the money
 *   pod start  the runtime starts the pod (codiusd's driver, libpod API)
 *   proxy      the 200 reaches the client, then GETs through the proxy until the pod answers 200
 * Baseline in the same run: the same pod started with the podman CLI until it answers 200 on its IP.
 * Usage: npm run bench:upload [-- iterations]   (root, Podman set up by scripts/setup-podman.sh; port 7768 free)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../src/app/app.js';
import { startEmbeddedMoneyd } from '../src/ilp/moneyd-local.js';
import { createLogger } from '../src/logger.js';
import { createPayingClient } from '../test/helpers/ilp-client.js';
import { BENCH_PUBLIC_HOST, benchHostConfig } from './lib/bench-host.js';
import { startBenchPodman } from './lib/bench-podman.js';
import {
  importWebImage,
  median,
  percentile,
  podman,
  startPodWithCli,
  untilServing,
} from './lib/podman-bench.js';

const iterations = Number(process.argv[2] ?? 10);
const GOAL_MEDIAN_MS = 1000;

interface LogEvent {
  msg: string;
  hash?: string;
  time: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-bench-upload-'));
  const tag = randomBytes(4).toString('hex');
  const image = `localhost/codius-bench/web:${tag}`;
  const network = `cu${tag.slice(0, 6)}`;
  await importWebImage(dir, image);

  const quiet = createLogger('warn');
  const moneyd = await startEmbeddedMoneyd({ logger: quiet });
  // Server-side moments (payment received, pod started) come from the app's own log lines.
  const events: LogEvent[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        events.push(JSON.parse(line) as LogEvent);
      }
      callback();
    },
  });
  const bench = await startBenchPodman(dir, network, quiet);
  const { service, root } = bench;
  const config = benchHostConfig({ root, podmanSocket: service.socketPath, network });
  const app = createApp({ config, logger: createLogger('info', sink) });
  await app.start();
  const url = app.listeningUrl();
  while (!((await (await fetch(`${url}/info`)).json()) as { acceptingUploads: boolean }).acceptingUploads) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const payer = createPayingClient();

  const phases = { handshake: [], payment: [], podStart: [], proxy: [], total: [] } as Record<
    string,
    number[]
  >;
  const rawPodman: number[] = [];
  try {
    for (let i = 0; i < iterations; i += 1) {
      const manifest = {
        name: `bench-${tag}-${i}`,
        version: '1',
        port: '3000',
        containers: [{ id: 'web', image }],
      };
      const t0 = Date.now();
      let served: Promise<number> | undefined;
      const paid = await payer.request(`${url}/pods?duration=600`, {
        method: 'POST',
        body: { manifest },
        maxPrice: 10_000_000n,
        // As a user would: off to the pod as soon as the answer is in, while the payer closes its stream.
        onResponse(response) {
          if (response.status !== 200) return;
          const { manifestHash } = JSON.parse(response.body) as { manifestHash: string };
          const host = `${manifestHash}.${BENCH_PUBLIC_HOST}`;
          served = untilServing(`${url}/`, { Host: host }).then(() => Date.now() - t0);
        },
      });
      if (paid.status !== 200 || !served) throw new Error(`upload failed: ${paid.status} ${paid.body}`);
      const hash = String(paid.json().manifestHash);
      const servedAt = await served;

      const at = (msg: string): number =>
        (events.find((e) => e.msg === msg && e.hash === hash)?.time ?? NaN) - t0;
      const ready = paid.timeline.streamReady ?? NaN;
      phases.handshake?.push(ready);
      phases.payment?.push(at('payment received') - ready);
      phases.podStart?.push(at('pod started') - at('payment received'));
      phases.proxy?.push(servedAt - at('pod started'));
      phases.total?.push(servedAt);

      const name = `codius-bench-upload-${tag}-${i}`;
      const started = performance.now();
      const ip = await startPodWithCli({ name, network, image });
      await untilServing(`http://${ip}:3000/`);
      rawPodman.push(performance.now() - started);
      await podman('pod', 'rm', '--force', name);
    }
  } finally {
    await payer.close();
    await app.stop();
    await bench.tearDown({ network, images: [image], alsoStop: [() => moneyd.stop()] });
  }

  const rows: Array<[string, number[]]> = [
    ['handshake (402, STREAM until ready byte)', phases.handshake ?? []],
    ['payment (retried request until paid)', phases.payment ?? []],
    ['pod start (codiusd, libpod API)', phases.podStart ?? []],
    ['proxy (200 out, GET via proxy until 200)', phases.proxy ?? []],
    ['total: first request to first 200 via proxy', phases.total ?? []],
    ['baseline: raw podman CLI start until 200', rawPodman],
  ];
  const baseline = median(rawPodman);
  console.log(
    `paid upload to first 200 through the proxy; ${iterations} fresh manifests, busybox httpd, runc`,
  );
  console.log(
    `${'phase'.padEnd(46)}${'median ms'.padStart(10)}${'p90 ms'.padStart(8)}${'median / baseline'.padStart(19)}`,
  );
  for (const [label, values] of rows) {
    console.log(
      `${label.padEnd(46)}${median(values).toFixed(0).padStart(10)}${percentile(values, 0.9).toFixed(0).padStart(8)}${(median(values) / baseline).toFixed(2).padStart(19)}`,
    );
  }
  const total = median(phases.total ?? []);
  console.log(`goal: median total <= ${GOAL_MEDIAN_MS} ms: ${total <= GOAL_MEDIAN_MS ? 'met' : 'MISSED'}`);
  console.log(`all totals (ms): ${(phases.total ?? []).map((v) => v.toFixed(0)).join(' ')}`);
}

await main();
// STREAM close packets to payers that already left wait out their BTP timeout; nothing else is pending.
process.exit(0);
