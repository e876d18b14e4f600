/**
 * A paid upload's timeline on real components: codiusd in-process on real Podman, `moneyd local`, and a
 * STREAM payer doing the HTTP-ILP handshake. Phases (median of N fresh manifests): the 402 challenge, the
 * STREAM connection until the host's ready byte, the retried request until the money is in, the pod start,
 * and the 200. Baseline in the same run: the same pod started with the podman CLI.
 * Usage: npm run bench:payment [-- iterations]   (root, Podman set up by scripts/setup-podman.sh; port 7768 free)
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { startEmbeddedMoneyd } from '../src/ilp/moneyd-local.js';
import { importWebImage, median, podman } from './lib/podman-bench.js';
import { createLogger } from '../src/logger.js';
import { startPodmanService } from '../src/runtime/podman/service.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../src/secret.js';
import { createPayingClient } from '../test/helpers/ilp-client.js';

const iterations = Number(process.argv[2] ?? 10);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-bench-pay-'));
  const tag = randomBytes(4).toString('hex');
  const image = `localhost/codius-bench/web:${tag}`;
  const network = `cp${tag.slice(0, 6)}`;
  await importWebImage(dir, image);

  const quiet = createLogger('warn');
  const moneyd = await startEmbeddedMoneyd({ logger: quiet });
  const service = await startPodmanService({ root: dir, logger: quiet });
  // Server-side moments (payment received, pod started) come from the app's own log lines.
  const events: Array<{ msg: string; hash?: string; time: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        events.push(JSON.parse(line) as { msg: string; hash?: string; time: number });
      }
      callback();
    },
  });
  const root = join(dir, 'root');
  await mkdir(root);
  const { secret } = await loadOrCreateHostSecret(root);
  const hostId = hostIdFromSecret(secret);
  const config = {
    ...loadConfig({
      CODIUS_PUBLIC_URI: 'https://bench.example',
      CODIUS_ROOT: root,
      CODIUS_PODMAN_SOCKET: service.socketPath,
      CODIUS_PODMAN_NETWORK: network,
      CODIUS_PODMAN_SUBNET: '10.89.198.0/24',
      CODIUS_SELF_TEST: 'false',
      CODIUS_BOOTSTRAP_PEERS: '[]',
    }),
    port: 0,
  };
  const app = createApp({ config, logger: createLogger('info', sink) });
  await app.start();
  const url = app.listeningUrl();
  while (!((await (await fetch(`${url}/info`)).json()) as { acceptingUploads: boolean }).acceptingUploads) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const payer = createPayingClient();

  const phases = { challenge: [], stream: [], payment: [], podStart: [], response: [], total: [] } as Record<
    string,
    number[]
  >;
  const cli: number[] = [];
  try {
    for (let i = 0; i < iterations; i += 1) {
      const manifest = {
        name: `bench-${tag}-${i}`,
        version: '1',
        port: '3000',
        containers: [{ id: 'web', image }],
      };
      const t0 = Date.now();
      const paid = await payer.request(`${url}/pods?duration=600`, {
        method: 'POST',
        body: { manifest },
        maxPrice: 10_000_000n,
      });
      if (paid.status !== 200) throw new Error(`upload failed: ${paid.status} ${paid.body}`);
      const hash = String(paid.json().manifestHash);
      const at = (msg: string) => (events.find((e) => e.msg === msg && e.hash === hash)?.time ?? NaN) - t0;
      const streamReady = paid.timeline.streamReady ?? NaN;
      phases.challenge?.push(paid.timeline.challenge);
      phases.stream?.push(streamReady - paid.timeline.challenge);
      phases.payment?.push(at('payment received') - streamReady);
      phases.podStart?.push(at('pod started') - at('payment received'));
      phases.response?.push(paid.timeline.done - at('pod started'));
      phases.total?.push(paid.timeline.done);

      const name = `codius-bench-pay-${tag}-${i}`;
      const started = performance.now();
      await podman('pod', 'create', '--name', name, '--network', network, '--memory', '512m', '--cpus', '1');
      await podman('create', '--pod', name, '--name', `${name}-web`, '--init', '--stop-timeout', '2', image);
      await podman('pod', 'start', name);
      cli.push(performance.now() - started);
      await podman('pod', 'rm', '--force', name);
    }
  } finally {
    await payer.close();
    await app.stop();
    const leftovers = (await podman('pod', 'ps', '-q', '--filter', `label=codius.host=${hostId}`))
      .split('\n')
      .filter(Boolean);
    if (leftovers.length > 0) await podman('pod', 'rm', '--force', ...leftovers);
    await podman('network', 'rm', '--force', network);
    await service.stop();
    await moneyd.stop();
    await podman('rmi', '--force', image);
    await rm(dir, { recursive: true, force: true });
  }

  const baseline = median(cli);
  console.log(
    `paid upload (POST /pods?duration=600), median of ${iterations} fresh manifests, busybox httpd, runc`,
  );
  console.log('phase                                         ms');
  const labels: Record<string, string> = {
    challenge: '402 challenge (first request)',
    stream: 'STREAM connect until ready byte',
    payment: 'retried request until money received',
    podStart: 'pod start (runtime)',
    response: 'pod started until 200 received',
    total: 'total, first request to 200',
  };
  for (const [key, label] of Object.entries(labels)) {
    console.log(
      `${label.padEnd(40)}${median(phases[key] ?? [])
        .toFixed(0)
        .padStart(8)}`,
    );
  }
  console.log(`${'baseline: podman CLI pod start'.padEnd(40)}${baseline.toFixed(0).padStart(8)}`);
  console.log(`ratio total / baseline: ${(median(phases.total ?? []) / baseline).toFixed(2)}`);
  console.log(`all totals (ms): ${(phases.total ?? []).map((v) => v.toFixed(0)).join(' ')}`);
}

await main();
// STREAM close packets to payers that already left wait out their 35 s BTP timeout; nothing else is pending.
process.exit(0);
