/**
 * Pod start and teardown latency on real Podman: codiusd's driver (libpod API, hardened pods) under runc
 * and under gVisor (runsc), against the podman CLI starting a plain pod (own network, limits, init), in
 * the same run. Start = from the first call until the pod answers HTTP 200 on its IP; teardown = until the
 * runtime reports the pod gone.
 * Usage: npm run bench:pods [-- iterations]   (root, Podman set up by scripts/setup-podman.sh)
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importWebImage, median, podman, startPodWithCli, untilServing } from './lib/podman-bench.js';
import { createLogger } from '../src/logger.js';
import { buildPodPlan } from '../src/manifest/plan.js';
import { describePodNetwork } from '../src/runtime/pod-network.js';
import type { PodRuntime } from '../src/runtime/driver.js';
import { hardeningFor, prepareOciRuntime } from '../src/runtime/podman/oci-runtime.js';
import { createPodmanDriver } from '../src/runtime/podman/driver.js';
import { startPodmanService, type PodmanService } from '../src/runtime/podman/service.js';
import { installStdioHook } from '../src/runtime/podman/stdio-hook.js';
import { createUnixHttpClient, type UnixHttpClient } from '../src/runtime/unix-http.js';

const iterations = Number(process.argv[2] ?? 10);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-bench-'));
  const tag = randomBytes(4).toString('hex');
  const image = `localhost/codius-bench/web:${tag}`;
  const network = `cb${tag.slice(0, 6)}`;
  const hostId = `bench-${tag}`;
  await importWebImage(dir, image);

  const logger = createLogger('warn');
  const runtimes = [] as Array<{
    runtime: 'runc' | 'runsc';
    service: PodmanService;
    client: UnixHttpClient;
    driver: PodRuntime;
  }>;
  for (const runtime of ['runc', 'runsc'] as const) {
    const root = join(dir, runtime);
    await mkdir(root);
    const service = await startPodmanService({
      root,
      logger,
      ociRuntime: await prepareOciRuntime(runtime, root),
      ...(runtime === 'runc' ? { hookDirs: await installStdioHook(root) } : {}),
    });
    const client = createUnixHttpClient(service.socketPath);
    const driver = createPodmanDriver({
      client,
      network: describePodNetwork(network, '10.89.199.0/24'),
      hostId,
      pullTimeoutMs: 60_000,
      hardening: hardeningFor(runtime),
      logger,
    });
    await driver.prepare();
    runtimes.push({ runtime, service, client, driver });
  }

  const ours = {
    runc: { start: [] as number[], teardown: [] as number[] },
    runsc: { start: [] as number[], teardown: [] as number[] },
  };
  const cli = { start: [] as number[], teardown: [] as number[] };
  try {
    for (let i = 0; i < iterations; i += 1) {
      for (const { runtime, driver } of runtimes) {
        const plan = buildPodPlan(
          {
            manifest: {
              name: `bench-${tag}-${runtime}-${i}`,
              version: '1',
              port: '3000',
              containers: [{ id: 'web', image }],
            },
          },
          { publicUri: 'https://bench.example' },
        );
        const started = performance.now();
        const pod = await driver.runPod(plan);
        await untilServing(`http://${pod.ip ?? ''}:3000/`);
        ours[runtime].start.push(performance.now() - started);
        const stopping = performance.now();
        await driver.deletePod(plan.hash);
        ours[runtime].teardown.push(performance.now() - stopping);
      }

      const name = `codius-bench-cli-${tag}-${i}`;
      let started = performance.now();
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
    for (const { client, service } of runtimes) {
      client.close();
      await service.stop();
    }
    await podman('rmi', '--force', image);
    await rm(dir, { recursive: true, force: true });
  }

  const rows = [
    ['podman CLI, runc, plain (baseline)', median(cli.start), median(cli.teardown)],
    ['codiusd, runc, hardened', median(ours.runc.start), median(ours.runc.teardown)],
    ['codiusd, runsc (gVisor), hardened', median(ours.runsc.start), median(ours.runsc.teardown)],
  ] as const;
  console.log(`pod start → first HTTP 200, and teardown; median of ${iterations}, busybox httpd`);
  console.log('target                              start ms  teardown ms  start ratio  teardown ratio');
  for (const [label, start, teardown] of rows) {
    console.log(
      `${label.padEnd(36)}${start.toFixed(0).padStart(8)}  ${teardown.toFixed(0).padStart(11)}  ${(start / rows[0][1]).toFixed(2).padStart(11)}  ${(teardown / rows[0][2]).toFixed(2).padStart(14)}`,
    );
  }
  console.log(`all starts (ms), codiusd runc:  ${ours.runc.start.map((v) => v.toFixed(0)).join(' ')}`);
  console.log(`all starts (ms), codiusd runsc: ${ours.runsc.start.map((v) => v.toFixed(0)).join(' ')}`);
  console.log(`all starts (ms), CLI:           ${cli.start.map((v) => v.toFixed(0)).join(' ')}`);
}

await main();
