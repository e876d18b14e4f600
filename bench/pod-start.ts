/**
 * Pod start and teardown latency on real Podman: codiusd's driver (libpod API) against the podman CLI
 * doing the same pod (own network, limits, init), in the same run. Start = from the first call until
 * the pod answers HTTP 200 on its IP; teardown = until the runtime reports the pod gone.
 * Usage: npm run bench:pods [-- iterations]   (root, Podman set up by scripts/setup-podman.sh)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importWebImage, median, podman, startPodWithCli, untilServing } from './lib/podman-bench.js';
import { createLogger } from '../src/logger.js';
import { buildPodPlan } from '../src/manifest/plan.js';
import { describePodNetwork } from '../src/runtime/pod-network.js';
import { createPodmanDriver } from '../src/runtime/podman/driver.js';
import { startPodmanService } from '../src/runtime/podman/service.js';
import { createUnixHttpClient } from '../src/runtime/unix-http.js';

const iterations = Number(process.argv[2] ?? 10);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-bench-'));
  const tag = randomBytes(4).toString('hex');
  const image = `localhost/codius-bench/web:${tag}`;
  const network = `cb${tag.slice(0, 6)}`;
  const hostId = `bench-${tag}`;
  await importWebImage(dir, image);

  const logger = createLogger('warn');
  const service = await startPodmanService({ root: dir, logger });
  const client = createUnixHttpClient(service.socketPath);
  const driver = createPodmanDriver({
    client,
    network: describePodNetwork(network, '10.89.199.0/24'),
    hostId,
    pullTimeoutMs: 60_000,
    logger,
  });
  await driver.prepare();

  const ours = { start: [] as number[], teardown: [] as number[] };
  const cli = { start: [] as number[], teardown: [] as number[] };
  try {
    for (let i = 0; i < iterations; i += 1) {
      const plan = buildPodPlan(
        {
          manifest: {
            name: `bench-${tag}-${i}`,
            version: '1',
            port: '3000',
            containers: [{ id: 'web', image }],
          },
        },
        { publicUri: 'https://bench.example' },
      );
      let started = performance.now();
      const pod = await driver.runPod(plan);
      await untilServing(`http://${pod.ip ?? ''}:3000/`);
      ours.start.push(performance.now() - started);
      started = performance.now();
      await driver.deletePod(plan.hash);
      ours.teardown.push(performance.now() - started);

      const name = `codius-bench-cli-${tag}-${i}`;
      started = performance.now();
      const ip = await startPodWithCli({ name, network, image, labels: { 'codius.host': hostId } });
      await untilServing(`http://${ip}:3000/`);
      cli.start.push(performance.now() - started);
      started = performance.now();
      await podman('pod', 'rm', '--force', name);
      cli.teardown.push(performance.now() - started);
    }
  } finally {
    const leftovers = (await podman('pod', 'ps', '-q', '--filter', `label=codius.host=${hostId}`))
      .split('\n')
      .filter(Boolean);
    if (leftovers.length > 0) await podman('pod', 'rm', '--force', ...leftovers);
    await podman('network', 'rm', '--force', network);
    client.close();
    await service.stop();
    await podman('rmi', '--force', image);
    await rm(dir, { recursive: true, force: true });
  }

  const rows = [
    ['podman CLI (baseline)', median(cli.start), median(cli.teardown)],
    ['codiusd driver (libpod API)', median(ours.start), median(ours.teardown)],
  ] as const;
  console.log(`pod start → first HTTP 200, and teardown; median of ${iterations}, busybox httpd, runc`);
  console.log('target                       start ms  teardown ms  start ratio  teardown ratio');
  for (const [label, start, teardown] of rows) {
    console.log(
      `${label.padEnd(29)}${start.toFixed(0).padStart(8)}  ${teardown.toFixed(0).padStart(11)}  ${(start / rows[0][1]).toFixed(2).padStart(11)}  ${(teardown / rows[0][2]).toFixed(2).padStart(14)}`,
    );
  }
  console.log(`all starts (ms), codiusd: ${ours.start.map((v) => v.toFixed(0)).join(' ')}`);
  console.log(`all starts (ms), CLI:     ${cli.start.map((v) => v.toFixed(0)).join(' ')}`);
}

await main();
