// Throughput and latency of GET /version and GET /info on a real codiusd process (sqlite store, request
// logging to /dev/null), next to a bare node:http server answering the same bodies in the same run.
// Also the daemon's idle resident memory (quick-start defaults: sqlite, moneyd local, Podman), next to the
// bare server's.
// Usage: npm run bench   (env BENCH_DURATION seconds per target, BENCH_CONNECTIONS, BENCH_ROUNDS,
// BENCH_IDLE_SECONDS)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './lib/load.js';
import { medianResult, printTable, type LoadResult } from './lib/table.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (pattern.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${String(code)} before ready:\n${text}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Resident memory of a process now, from /proc (MiB). */
async function rssMiB(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

async function main(): Promise<void> {
  const options = {
    durationSeconds: Number(process.env.BENCH_DURATION ?? 5),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  };
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
  const dataDir = await mkdtemp(join(tmpdir(), 'codiusd-bench-'));
  const baseline = spawn(process.execPath, [join(root, 'dist/bench/baseline-server.js'), '3870'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const daemon = spawn(join(root, 'bin/codiusd'), [], {
    env: {
      ...process.env,
      CODIUS_DEV: 'true',
      CODIUS_ROOT: dataDir,
      CODIUS_PORT: '3871',
      CODIUS_BOOTSTRAP_PEERS: '[]',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await Promise.all([waitForLine(baseline, /ready/), waitForLine(daemon, /codiusd listening/)]);
    // From here on the daemon's per-request log lines go nowhere, as with a quiet journal.
    daemon.stdout.removeAllListeners('data');
    daemon.stdout.resume();
    // Idle: started, one request answered, then left alone as a host between uploads.
    await fetch('http://127.0.0.1:3871/info');
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idle = { codiusd: await rssMiB(daemon.pid), baseline: await rssMiB(baseline.pid) };
    const targets = [
      ['node:http /version', 'http://127.0.0.1:3870/version'],
      ['codiusd /version', 'http://127.0.0.1:3871/version'],
      ['node:http /info', 'http://127.0.0.1:3870/info'],
      ['codiusd /info', 'http://127.0.0.1:3871/info'],
    ] as const;
    const samples = new Map<string, LoadResult[]>(targets.map(([label]) => [label, []]));
    // Rounds interleave the targets, so a noisy moment on the machine hits all of them alike.
    for (let round = 0; round < rounds; round += 1) {
      for (const [label, url] of targets) samples.get(label)?.push(await measure(label, url, options));
    }
    const results = targets.map(([label]) => medianResult(label, samples.get(label) ?? []));
    const afterLoad = await rssMiB(daemon.pid);
    console.log(
      `${options.connections} connections, ${options.durationSeconds} s per target, ${rounds} rounds (median), autocannon`,
    );
    printTable(results.slice(0, 2), 'node:http /version');
    printTable(results.slice(2), 'node:http /info');
    console.log(
      `idle RSS after ${idleSeconds} s: codiusd ${idle.codiusd.toFixed(1)} MiB (bare node:http ` +
        `${idle.baseline.toFixed(1)} MiB); codiusd after the load: ${afterLoad.toFixed(1)} MiB`,
    );
  } finally {
    await Promise.all([stop(baseline), stop(daemon)]);
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
