/**
 * The pod proxy against nginx, in one run on this machine: the same small GET (19-byte body) sent by wrk
 * straight to a pod, through codiusd's built-in proxy (in-process, the real app), through codiusd's
 * HAProxy engine (HAProxy configured and fed its routes by codiusd's own code), and through nginx reverse proxies
 * configured like a Codius host's front proxy (keep-alive to the pod, Host and X-Forwarded-* set). The pod
 * is nginx itself (one worker), so the pod is not what limits the proxies. The proxies are measured over
 * plain HTTP, then nginx and the HAProxy engine again with TLS on the public side (a self-signed ECDSA
 * P-256 certificate for `*.<bench host>`; wrk keeps its connections, so this is the cost of TLS records,
 * not of handshakes). Prints req/s, p50 and p99 and the ratios against nginx, one table per protocol.
 * Usage: npm run bench:proxy [-- --seconds N] [-- --connections N] [-- --rounds N] [-- --engines]
 *   --engines also measures the alternatives codiusd's engine was chosen over (node:http Agent, http-proxy-3).
 * Needs root, Podman (scripts/setup-podman.sh), openssl, and nginx + wrk (installed with apt-get when missing).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApp } from '../src/app/app.js';
import { createLogger } from '../src/logger.js';
import { freePort } from '../test/helpers/daemon.js';
import { seedPaidPod } from '../test/helpers/seed.js';
import type { PodRecord } from '../src/domain/types.js';
import { BENCH_PUBLIC_HOST, benchHostConfig } from './lib/bench-host.js';
import { startBenchHaproxy } from './lib/bench-haproxy.js';
import { startBenchPodman } from './lib/bench-podman.js';
import { selfSignedCertificate } from './lib/bench-tls.js';
import { agentProxy, httpProxy3 } from './lib/alternative-proxies.js';
import { startNginxProxy } from './lib/nginx-proxy.js';
import { importNginxImage } from './lib/podman-bench.js';
import { medianResult, printTable, type LoadResult } from './lib/table.js';
import { wrk } from './lib/wrk.js';

const run = promisify(execFile);

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const SECONDS = option('seconds', 8);
const CONNECTIONS = option('connections', 32);
const ROUNDS = option('rounds', 3);
const WITH_ENGINES = args.includes('--engines');
const NGINX_AUTO = 'nginx (worker_processes auto)';
const NGINX_ONE = 'nginx (worker_processes 1)';
const TLS = ', TLS';

interface Target {
  label: string;
  url: string;
}

/** What is stopped when the bench ends, last started first. */
type Stop = () => Promise<void> | void;

async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  for (const [tool, pkg] of [
    ['nginx', 'nginx'],
    ['wrk', 'wrk'],
    ['haproxy', 'haproxy'],
    ['openssl', 'openssl'],
  ] as const) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      missing.push(pkg);
    }
  }
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(', ')} with apt-get`);
  await run('apt-get', ['install', '-y', '-q', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * Starts the proxies in front of the running pod `record` (its address known), the plain-HTTP ones and
 * the TLS ones; each is registered in `stops` as soon as it runs.
 */
async function startProxies(
  dir: string,
  record: PodRecord & { ip: string },
  stops: Stop[],
): Promise<{ plain: Target[]; tls: Target[] }> {
  const podAddress = `${record.ip}:${record.port ?? 3000}`;
  const certificate = await selfSignedCertificate(dir, BENCH_PUBLIC_HOST);
  const plain: Target[] = [];
  const tls: Target[] = [];
  for (const [workers, label] of [
    ['auto', NGINX_AUTO],
    ['1', NGINX_ONE],
  ] as const) {
    const nginx = await startNginxProxy({ dir, podAddress, workers });
    stops.push(nginx.stop);
    plain.push({ label, url: nginx.url });
    const nginxTls = await startNginxProxy({ dir, podAddress, workers, tls: certificate });
    stops.push(nginxTls.stop);
    tls.push({ label: label + TLS, url: nginxTls.url });
  }
  for (const material of [null, certificate]) {
    const port = await freePort();
    const haproxy = await startBenchHaproxy({ dir, port, record, tls: material });
    stops.push(() => haproxy.stop());
    (material ? tls : plain).push({
      label: `codiusd haproxy${material ? TLS : ''}`,
      url: `${material ? 'https' : 'http'}://127.0.0.1:${port}/`,
    });
  }
  if (WITH_ENGINES) {
    for (const engine of [await agentProxy(record.ip, 3000), await httpProxy3(record.ip, 3000)]) {
      stops.push(() => engine.close());
      plain.push({ label: engine.label, url: engine.url });
    }
  }
  return { plain, tls };
}

/** Every target once per round, in the same order (a 2 s warm-up before each), and each one's median. */
async function measureRounds(
  targets: readonly Target[],
  headers: Record<string, string>,
): Promise<LoadResult[]> {
  const samples = new Map<string, LoadResult[]>(targets.map((t) => [t.label, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const target of targets) {
      // Warm-up (JIT, keep-alive pools, TLS sessions), then the measured run.
      await wrk(target.label, target.url, { connections: CONNECTIONS, seconds: 2, headers });
      samples
        .get(target.label)
        ?.push(await wrk(target.label, target.url, { connections: CONNECTIONS, seconds: SECONDS, headers }));
    }
  }
  return targets.map(({ label }) => medianResult(label, samples.get(label) ?? []));
}

async function main(): Promise<void> {
  await ensureTools();
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-bench-proxy-'));
  const tag = randomBytes(4).toString('hex');
  const image = `localhost/codius-bench/nginx:${tag}`;
  const network = `cb${tag.slice(0, 6)}`;
  const quiet = createLogger('warn');
  const bench = await startBenchPodman(dir, network, quiet);
  const stops: Stop[] = [];
  try {
    const pinned = await importNginxImage(dir, image);
    const { root, service, driver } = bench;
    // The pod is recovered from the store at start, as after a restart: no payment needed for a bench.
    const pod = await seedPaidPod(
      root,
      { name: `bench-${tag}`, version: '1', port: '3000', containers: [{ id: 'web', image: pinned }] },
      { publicUri: `https://${BENCH_PUBLIC_HOST}` },
    );
    const app = createApp({
      config: benchHostConfig({
        root,
        podmanSocket: service.socketPath,
        network,
        extra: {
          // Nothing listens there: the proxy needs no payments.
          ILP_BTP_SERVER: `btp+ws://127.0.0.1:${await freePort()}`,
          // The pod's image exists in local storage only: dev mode runs it without asking a registry.
          CODIUS_DEV: 'true',
        },
      }),
      logger: quiet,
    });
    await app.start();
    stops.push(() => app.stop());
    const ip = (await driver.inspectPod(pod.hash))?.ip;
    if (!ip) throw new Error('the bench pod did not start');
    const proxies = await startProxies(dir, { ...pod, state: 'running', ip, port: 3000 }, stops);
    const plain: Target[] = [
      { label: 'pod, direct', url: `http://${ip}:3000/` },
      ...proxies.plain.slice(0, 2),
      { label: 'codiusd builtin', url: app.listeningUrl() + '/' },
      ...proxies.plain.slice(2),
    ];
    console.log(
      `wrk: 1 thread, ${CONNECTIONS} connections, ${SECONDS} s per target, ${ROUNDS} rounds (median); ` +
        `Host: <hash>.${BENCH_PUBLIC_HOST}; ${(await run('nproc')).stdout.trim()} cores`,
    );
    const rows = await measureRounds([...plain, ...proxies.tls], {
      Host: `${pod.hash}.${BENCH_PUBLIC_HOST}`,
    });
    const plainRows = rows.slice(0, plain.length);
    const tlsRows = rows.slice(plain.length);
    console.log('\nplain HTTP');
    printTable(plainRows, NGINX_AUTO);
    console.log('');
    printTable(plainRows, NGINX_ONE);
    console.log('\nTLS on the public side (TLS 1.3, ECDSA P-256)');
    printTable(tlsRows, NGINX_AUTO + TLS);
    console.log('');
    printTable(tlsRows, NGINX_ONE + TLS);
  } finally {
    for (const stop of stops.reverse()) {
      await Promise.resolve()
        .then(stop)
        .catch((error: unknown) => console.error('bench cleanup:', error));
    }
    await bench.tearDown({ network, images: [image] });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
