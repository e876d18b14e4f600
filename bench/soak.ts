/**
 * Soak: 500 concurrent proxied HTTP connections for SOAK_SECONDS (60) plus 200 open WebSockets, through a
 * real codiusd process (bin/codiusd) to one Podman pod running the self test's program (HTTP JSON and a
 * WebSocket greeting). Prints requests, errors, latency, the WebSockets still open at the end, and
 * codiusd's RSS over time; the pod reached directly for 10 s is the baseline of the same run.
 *
 * Needs root and Podman (scripts/setup-podman.sh). Sends traffic to loopback and its own pod only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { createLogger } from '../src/logger.js';
import { selfTestImageSource } from '../src/self-test/image.js';
import { BIN, freePort } from '../test/helpers/daemon.js';
import { seedPaidPod } from '../test/helpers/seed.js';
import { BENCH_PUBLIC_HOST, BENCH_SUBNET } from './lib/bench-host.js';
import { startBenchPodman } from './lib/bench-podman.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CONNECTIONS = 500;
const WEBSOCKETS = 200;

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function load(url: string, seconds: number, headers: Record<string, string>) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  return {
    requests: result.requests.total,
    perSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

function openSockets(url: string, host: string): Promise<WebSocket[]> {
  return Promise.all(
    Array.from(
      { length: WEBSOCKETS },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { headers: { Host: host } });
          ws.once('message', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
}

/** bin/codiusd as a process of its own (its RSS is measured alone), once it listens. */
async function startCodiusd(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(BIN, [], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (/codiusd listening on/.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`codiusd exited with ${String(code)}`)));
  });
  child.stdout.resume();
  return child;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-bench-soak-'));
  const tag = randomBytes(4).toString('hex');
  const network = `cs${tag.slice(0, 6)}`;
  const quiet = createLogger('warn');
  const bench = await startBenchPodman(dir, network, quiet);
  const { service, root, driver } = bench;
  const source = await selfTestImageSource(join(dir, 'image'));
  const image = await driver.importImage?.(source);
  if (!image) throw new Error('the podman driver imports local images');
  const pod = await seedPaidPod(
    root,
    {
      name: `soak-${tag}`,
      version: '1',
      port: '3000',
      containers: [{ id: 'app', image, environment: { PORT: '3000' } }],
    },
    { publicUri: `https://${BENCH_PUBLIC_HOST}` },
  );
  const port = await freePort();
  const daemon = await startCodiusd({
    CODIUS_PUBLIC_URI: `https://${BENCH_PUBLIC_HOST}`,
    CODIUS_PORT: String(port),
    CODIUS_ROOT: root,
    CODIUS_PODMAN_SOCKET: service.socketPath,
    CODIUS_PODMAN_NETWORK: network,
    CODIUS_PODMAN_SUBNET: BENCH_SUBNET,
    CODIUS_ALLOWED_REGISTRIES: 'localhost',
    CODIUS_SELF_TEST: 'false',
    CODIUS_BOOTSTRAP_PEERS: '[]',
    CODIUS_LOG_LEVEL: 'info',
    // Room for the whole load from one client (the bench is one address): a quarter of 2 × 1024.
    CODIUS_PROXY_MAX_CONNECTIONS: '1024',
    ILP_BTP_SERVER: `btp+ws://127.0.0.1:${await freePort()}`,
  });
  const pid = daemon.pid ?? 0;
  try {
    const podHost = `${pod.hash}.${BENCH_PUBLIC_HOST}`;
    const podIp = (await driver.inspectPod(pod.hash))?.ip;
    if (!podIp) throw new Error('the soak pod did not start');
    for (let i = 0; i < 100; i += 1) {
      if ((await fetch(`http://127.0.0.1:${port}/`, { headers: { Host: podHost } }).catch(() => null))?.ok)
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const direct = await load(`http://${podIp}:3000/`, 10, {});
    const idle = await rssMiB(pid);
    const sockets = await openSockets(`ws://127.0.0.1:${port}/`, podHost);
    const rss: number[] = [];
    const sampler = setInterval(() => void rssMiB(pid).then((v) => rss.push(v)), 1_000);
    const soak = await load(`http://127.0.0.1:${port}/`, SECONDS, { Host: podHost });
    clearInterval(sampler);
    const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    const end = await rssMiB(pid);
    for (const ws of sockets) ws.terminate();
    console.log(
      `soak: ${CONNECTIONS} connections for ${SECONDS} s through codiusd + ${WEBSOCKETS} WebSockets`,
    );
    console.log('| target | requests | req/s | p50 ms | p99 ms | errors |');
    console.log('|---|---:|---:|---:|---:|---:|');
    console.log(
      `| pod, direct (10 s) | ${direct.requests} | ${direct.perSecond.toFixed(0)} | ${direct.p50} | ${direct.p99} | ${direct.errors} |`,
    );
    console.log(
      `| codiusd (${SECONDS} s) | ${soak.requests} | ${soak.perSecond.toFixed(0)} | ${soak.p50} | ${soak.p99} | ${soak.errors} |`,
    );
    console.log(`throughput ratio codiusd / direct: ${(soak.perSecond / direct.perSecond).toFixed(2)}`);
    console.log(`WebSockets open at the end: ${open} of ${WEBSOCKETS}`);
    const peak = Math.max(idle, ...rss);
    console.log(
      `codiusd RSS: ${idle.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB, ${end.toFixed(0)} MiB at the end`,
    );
    if (soak.errors > 0 || open !== WEBSOCKETS) process.exitCode = 1;
  } finally {
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
    await bench.tearDown({ network, images: [`${source.name}:${source.tag}`] });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
