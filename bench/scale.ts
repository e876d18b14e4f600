// A host with many paid pods, against the same daemon with one pod (or none), in one run: a real codiusd process
// (bin/codiusd) on a sqlite store seeded with N paid pods through the store's own code, on the hyperd no-op
// runtime (which lost every pod: the first reconcile pass recreates them all). Prints, per store size:
// start → first 200 on /version, start → the end of the first reconcile pass (/info podsReconciled), CPU
// and resident memory 20 s after the first 200, /info throughput, the proxy's throughput for a pod hostname
// (a no-op pod has no address: codiusd's proxy looks it up and answers 502 itself), and 1,000 pods whose
// time ends within one minute: how long after the last one is due all are gone, and the CPU it took.
// With --podman M, the same for M real Podman pods: see bench/lib/scale-podman.ts.
// Usage: npm run bench:scale [-- N] [-- --podman M]   (N defaults to 10,000)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure } from './lib/load.js';
import { cpuSeconds, rssMiB, spawnDaemon, stopDaemon, until, type ScaleDaemon } from './lib/scale-daemon.js';
import { seedPaidPods } from './lib/seed-pods.js';
import { printScaleTables, type ExpiryFigures, type StartFigures } from './lib/scale-table.js';

const args = process.argv.slice(2);
const option = (name: string): number | undefined => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : Number(args[index + 1]);
};
const SIZE = Number(args.find((arg, i) => /^\d+$/.test(arg) && !args[i - 1]?.startsWith('--')) ?? 10_000);
const PODMAN_PODS = option('podman');
const EXPIRING = 1_000;
const SETTLE_SECONDS = 20;
const LOAD = { durationSeconds: 5, connections: 32 };
const NOOP_ENV = { CODIUS_RUNTIME: 'hyperd', CODIUS_HYPER_NOOP: 'true' };

/** Start, first pass, resources and throughput of a daemon on a store of `size` long-paid pods. */
async function measureStart(label: string, size: number): Promise<StartFigures> {
  const root = await mkdtemp(join(tmpdir(), 'codiusd-scale-'));
  let daemon: ScaleDaemon | undefined;
  try {
    const hashes = await seedPaidPods(root, [
      { count: Math.max(size, 1), expiresAt: () => Date.now() + 3_600_000 },
    ]);
    daemon = await spawnDaemon(root, NOOP_ENV);
    const firstOkMs = await daemon.untilFirst200();
    const firstPassMs = await daemon.untilReconciled();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, SETTLE_SECONDS * 1000 - firstOkMs)));
    const cpu = await cpuSeconds(daemon.pid);
    const rss = await rssMiB(daemon.pid);
    const info = await measure('/info', `${daemon.url}/info`, LOAD);
    const proxied = await measure('proxy', `${daemon.url}/`, {
      ...LOAD,
      headers: { host: `${hashes[0] ?? ''}.codius.example.com` },
    });
    return {
      label,
      firstOkMs,
      firstPassMs,
      cpu,
      rss,
      infoRps: info.requestsPerSecond,
      proxyRps: proxied.requestsPerSecond,
    };
  } finally {
    if (daemon) await stopDaemon(daemon);
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * 1,000 pods whose paid time ends one after another over a minute, on a store of `size` other pods: how
 * long after the last one was due the last one was removed, from the daemon's own "pod removed" lines.
 */
async function measureExpiry(label: string, size: number): Promise<ExpiryFigures> {
  const root = await mkdtemp(join(tmpdir(), 'codiusd-scale-'));
  let daemon: ScaleDaemon | undefined;
  try {
    const firstDue = Date.now() + 30_000 + size / 20;
    const dueAt = (i: number): number => firstDue + Math.floor((i * 60_000) / EXPIRING);
    const lastDue = dueAt(EXPIRING - 1);
    const hashes = await seedPaidPods(root, [
      { count: size, expiresAt: () => Date.now() + 3_600_000 },
      { count: EXPIRING, expiresAt: dueAt },
    ]);
    const expiring = new Set(hashes.slice(size));
    let lastRemovedAt = 0;
    daemon = await spawnDaemon(root, NOOP_ENV, (line) => {
      if (line.msg === 'pod removed' && expiring.delete(String(line.hash)))
        lastRemovedAt = Math.max(lastRemovedAt, Number(line.time));
    });
    // Watched from the first due time, whether or not the first reconcile pass has ended by then (with
    // 100,000 pods it has not: the expiries then compete with it, which is what is measured).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstDue - Date.now())));
    const before = await cpuSeconds(daemon.pid);
    await until(() => Promise.resolve(expiring.size === 0), 600_000, 50);
    return { label, lagMs: lastRemovedAt - lastDue, cpu: (await cpuSeconds(daemon.pid)) - before };
  } finally {
    if (daemon) await stopDaemon(daemon);
    await rm(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const count = SIZE.toLocaleString('en');
  const starts: StartFigures[] = [];
  const expiries: ExpiryFigures[] = [];
  for (const [label, size] of [
    ['1 pod', 1],
    [`${count} pods`, SIZE],
  ] as const) {
    starts.push(await measureStart(label, size));
  }
  for (const [label, size] of [
    ['no other pods', 0],
    [`${count} other pods`, SIZE],
  ] as const) {
    expiries.push(await measureExpiry(label, size));
  }
  console.log(`hyperd no-op runtime; ${LOAD.connections} connections, ${LOAD.durationSeconds} s per target`);
  printScaleTables(starts, expiries);
  if (PODMAN_PODS !== undefined) {
    const { benchPodmanScale } = await import('./lib/scale-podman.js');
    await benchPodmanScale(PODMAN_PODS);
  }
}

await main();
