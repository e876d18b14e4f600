/**
 * The pod proxy against nginx, in one run on this machine: the same small GET (19-byte body) sent by wrk
 * straight to a pod, through codiusd's built-in proxy (in-process, the real app), through codiusd's
 * HAProxy engine (HAProxy configured and fed its routes by codiusd's own code), and through nginx reverse proxies
 * configured like a Codius host's front proxy (keep-alive to the pod, Host and X-Forwarded-* set). The pod
 * is nginx itself (one worker), so the pod is not what limits the proxies. Prints req/s, p50 and p99 and
 * the ratios against nginx.
 * Usage: npm run bench:proxy [-- --seconds N] [-- --connections N] [-- --engines]
 *   --engines also measures the alternatives codiusd's engine was chosen over (node:http Agent, http-proxy-3).
 * Needs root, Podman (scripts/setup-podman.sh), and nginx + wrk (installed with apt-get when missing).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApp } from '../src/app/app.js';
import { createLogger } from '../src/logger.js';
import { freePort } from '../test/helpers/daemon.js';
import { seedPaidPod } from '../test/helpers/seed.js';
import { startHaproxyEngine, type HaproxyEngine } from '../src/proxy/haproxy/engine.js';
import type { PodRecord } from '../src/domain/types.js';
import { BENCH_PUBLIC_HOST, benchHostConfig } from './lib/bench-host.js';
import { startBenchPodman } from './lib/bench-podman.js';
import { agentProxy, httpProxy3, type AlternativeProxy } from './lib/alternative-proxies.js';
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

async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  for (const [tool, pkg] of [
    ['nginx', 'nginx'],
    ['wrk', 'wrk'],
    ['haproxy', 'haproxy'],
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

/** nginx as a Codius host's front proxy to the pod, `workers` worker processes. */
async function startNginxProxy(
  dir: string,
  podUrl: string,
  workers: string,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const prefix = join(dir, `nginx-proxy-${workers}`);
  await mkdir(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  await writeFile(
    conf,
    [
      `daemon off; worker_processes ${workers}; pid ${prefix}/nginx.pid; error_log ${prefix}/error.log;`,
      'events { worker_connections 4096; }',
      'http { access_log off; keepalive_requests 1000000;',
      `  client_body_temp_path ${prefix}/b; proxy_temp_path ${prefix}/p; fastcgi_temp_path ${prefix}/f;`,
      `  uwsgi_temp_path ${prefix}/u; scgi_temp_path ${prefix}/s;`,
      `  upstream pod { server ${podUrl}; keepalive 128; }`,
      `  server { listen 127.0.0.1:${port};`,
      '    location / { proxy_pass http://pod; proxy_http_version 1.1; proxy_set_header Connection "";',
      '      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '      proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $host;',
      '      proxy_buffering off; } } }',
      '',
    ].join('\n'),
  );
  const child = spawn('nginx', ['-e', join(prefix, 'error.log'), '-p', prefix, '-c', conf], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i += 1) {
    try {
      await fetch(url);
      return { url, child };
    } catch {
      if (i > 100) throw new Error('nginx did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * CODIUS_PROXY_ENGINE=haproxy's HAProxy, as codiusd starts it, routing the bench pod (the pod's traffic
 * never reaches codiusd, so it needs no codiusd behind it here).
 */
function startHaproxyOn(dir: string, port: number, record: PodRecord): Promise<HaproxyEngine> {
  return startHaproxyEngine({
    settings: {
      bindIp: '127.0.0.1',
      port,
      codiusd: { host: '127.0.0.1', port: 9 },
      trustedProxies: [],
      publicProto: 'https',
      timeoutMs: 300_000,
      maxConnectionsPerPod: 128,
      maxConnections: 16_384,
      shutdownTimeoutMs: 2_000,
    },
    publicHostname: BENCH_PUBLIC_HOST,
    directory: join(dir, 'haproxy'),
    tls: null,
    command: 'haproxy',
    pods: {
      get: (hash) => (hash === record.hash ? record : undefined),
      watch: (listener) => listener(record.hash),
    },
    logger: createLogger('warn'),
  });
}

async function main(): Promise<void> {
  await ensureTools();
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-bench-proxy-'));
  const tag = randomBytes(4).toString('hex');
  const image = `localhost/codius-bench/nginx:${tag}`;
  const network = `cb${tag.slice(0, 6)}`;
  await importNginxImage(dir, image);
  const quiet = createLogger('warn');
  const bench = await startBenchPodman(dir, network, quiet);
  const { service, root, driver } = bench;
  // The pod is recovered from the store at start, as after a restart: no payment needed for a bench.
  const pod = await seedPaidPod(
    root,
    { name: `bench-${tag}`, version: '1', port: '3000', containers: [{ id: 'web', image }] },
    { publicUri: `https://${BENCH_PUBLIC_HOST}` },
  );
  const app = createApp({
    config: benchHostConfig({
      root,
      podmanSocket: service.socketPath,
      network,
      // Nothing listens there: the proxy needs no payments.
      extra: { ILP_BTP_SERVER: `btp+ws://127.0.0.1:${await freePort()}` },
    }),
    logger: quiet,
  });
  const nginxProxies: ChildProcess[] = [];
  const engines: AlternativeProxy[] = [];
  let haproxy: HaproxyEngine | undefined;
  try {
    await app.start();
    const podIp = (await driver.inspectPod(pod.hash))?.ip;
    if (!podIp) throw new Error('the bench pod did not start');
    const podHost = `${pod.hash}.${BENCH_PUBLIC_HOST}`;
    const direct = `http://${podIp}:3000/`;
    const nginxAuto = await startNginxProxy(dir, `${podIp}:3000`, 'auto');
    const nginxOne = await startNginxProxy(dir, `${podIp}:3000`, '1');
    nginxProxies.push(nginxAuto.child, nginxOne.child);
    const haproxyPort = await freePort();
    haproxy = await startHaproxyOn(dir, haproxyPort, { ...pod, state: 'running', ip: podIp, port: 3000 });
    const targets: Array<{ label: string; url: string }> = [
      { label: 'pod, direct', url: direct },
      { label: NGINX_AUTO, url: nginxAuto.url },
      { label: NGINX_ONE, url: nginxOne.url },
      { label: 'codiusd builtin', url: app.listeningUrl() + '/' },
      { label: 'codiusd haproxy', url: `http://127.0.0.1:${haproxyPort}/` },
    ];
    if (WITH_ENGINES) {
      engines.push(await agentProxy(podIp, 3000), await httpProxy3(podIp, 3000));
      targets.push(...engines.map((engine) => ({ label: engine.label, url: engine.url })));
    }
    const headers = { Host: podHost };
    console.log(
      `wrk: 1 thread, ${CONNECTIONS} connections, ${SECONDS} s per target, ${ROUNDS} rounds (median); ` +
        `Host: <hash>.${BENCH_PUBLIC_HOST}; ${(await run('nproc')).stdout.trim()} cores`,
    );
    const samples = new Map<string, LoadResult[]>(targets.map((t) => [t.label, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const target of targets) {
        // Warm-up (JIT, keep-alive pools), then the measured run.
        await wrk(target.label, target.url, { connections: CONNECTIONS, seconds: 2, headers });
        samples
          .get(target.label)
          ?.push(
            await wrk(target.label, target.url, { connections: CONNECTIONS, seconds: SECONDS, headers }),
          );
      }
    }
    const rows = targets.map(({ label }) => medianResult(label, samples.get(label) ?? []));
    printTable(rows, NGINX_AUTO);
    console.log('');
    printTable(rows, NGINX_ONE);
  } finally {
    for (const engine of engines) await engine.close();
    await haproxy?.stop();
    for (const child of nginxProxies) child.kill('SIGQUIT');
    await app.stop();
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
