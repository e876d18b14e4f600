// The scale bench on real Podman pods: codiusd (bin/codiusd) on the bench's own Podman service and network,
// with M paid pods of a small nginx image in its store. The first start recreates them all (the runtime had
// none); the daemon is stopped (its pods keep running) and started again, which adopts them: that second
// start is measured, against the same steps with one pod.
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { BENCH_PUBLIC_HOST, BENCH_SUBNET } from './bench-host.js';
import { startBenchPodman } from './bench-podman.js';
import { measure } from './load.js';
import { importNginxImage } from './podman-bench.js';
import { cpuSeconds, rssMiB, spawnDaemon, stopDaemon } from './scale-daemon.js';
import { printRatioTable } from './scale-table.js';
import { seedPaidPods } from './seed-pods.js';

interface PodmanFigures {
  label: string;
  recreateAllMs: number;
  firstOkMs: number;
  adoptedMs: number;
  cpu: number;
  rss: number;
  infoRps: number;
  proxyRps: number;
}

const LOAD = { durationSeconds: 5, connections: 32 };
/** Addresses of the bench's /24 network, less the gateway and a margin. */
const MAX_PODS = 240;

async function measureRestart(label: string, count: number, image: string): Promise<PodmanFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-scale-podman-'));
  const network = `cs${randomBytes(3).toString('hex')}`;
  const bench = await startBenchPodman(dir, network, createLogger('warn'));
  try {
    const pinned = await importNginxImage(dir, image);
    const hashes = await seedPaidPods(
      bench.root,
      [{ count, expiresAt: () => Date.now() + 3_600_000 }],
      { image: pinned, port: '3000' },
      `https://${BENCH_PUBLIC_HOST}`,
    );
    const env = {
      CODIUS_PUBLIC_URI: `https://${BENCH_PUBLIC_HOST}`,
      CODIUS_PODMAN_SOCKET: bench.service.socketPath,
      CODIUS_PODMAN_NETWORK: network,
      CODIUS_PODMAN_SUBNET: BENCH_SUBNET,
      CODIUS_ALLOWED_REGISTRIES: 'localhost',
      CODIUS_SELF_TEST: 'false',
    };
    const first = await spawnDaemon(bench.root, env);
    const recreateAllMs = await first.untilReconciled();
    await stopDaemon(first);
    const daemon = await spawnDaemon(bench.root, env);
    try {
      const firstOkMs = await daemon.untilFirst200();
      const adoptedMs = await daemon.untilReconciled();
      const cpu = await cpuSeconds(daemon.pid);
      const rss = await rssMiB(daemon.pid);
      const info = await measure('/info', `${daemon.url}/info`, LOAD);
      const proxied = await measure('proxy', `${daemon.url}/`, {
        ...LOAD,
        headers: { host: `${hashes[0] ?? ''}.${BENCH_PUBLIC_HOST}` },
      });
      if (proxied.failed > 0) throw new Error(`${proxied.failed} proxied requests failed`);
      return {
        label,
        recreateAllMs,
        firstOkMs,
        adoptedMs,
        cpu,
        rss,
        infoRps: info.requestsPerSecond,
        proxyRps: proxied.requestsPerSecond,
      };
    } finally {
      await stopDaemon(daemon);
    }
  } finally {
    await bench.tearDown({ network, images: [image] });
  }
}

export async function benchPodmanScale(count: number): Promise<void> {
  if (count > MAX_PODS) throw new Error(`--podman takes at most ${MAX_PODS} pods (one /24 network)`);
  const tag = randomBytes(4).toString('hex');
  const rows = [
    await measureRestart('1 pod', 1, `localhost/codius-bench/scale:${tag}-1`),
    await measureRestart(`${count} pods`, count, `localhost/codius-bench/scale:${tag}-n`),
  ];
  console.log(
    `\nPodman (runc), real pods; ${LOAD.connections} connections, ${LOAD.durationSeconds} s per target`,
  );
  printRatioTable(
    'restart with the pods running (they are adopted)',
    [
      ['recreate all ms', (r: PodmanFigures) => r.recreateAllMs, 0],
      ['first 200 ms', (r: PodmanFigures) => r.firstOkMs, 0],
      ['first pass ms', (r: PodmanFigures) => r.adoptedMs, 0],
      ['CPU s', (r: PodmanFigures) => r.cpu, 2],
      ['RSS MiB', (r: PodmanFigures) => r.rss, 1],
      ['/info req/s', (r: PodmanFigures) => r.infoRps, 0],
      ['proxy req/s', (r: PodmanFigures) => r.proxyRps, 0],
    ],
    rows,
  );
}
