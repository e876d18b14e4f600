// Throughput and latency of GET /version and GET /info on a real codiusd process (sqlite store, request
// logging to /dev/null), next to a bare node:http server answering the same bodies in the same run.
// Usage: npm run bench   (env BENCH_DURATION seconds per target, BENCH_CONNECTIONS)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './lib/load.js';
import { printTable, type LoadResult } from './lib/table.js';

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

async function main(): Promise<void> {
  const options = {
    durationSeconds: Number(process.env.BENCH_DURATION ?? 5),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  };
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
    const results: LoadResult[] = [];
    results.push(await measure('node:http /version', 'http://127.0.0.1:3870/version', options));
    results.push(await measure('codiusd /version', 'http://127.0.0.1:3871/version', options));
    results.push(await measure('node:http /info', 'http://127.0.0.1:3870/info', options));
    results.push(await measure('codiusd /info', 'http://127.0.0.1:3871/info', options));
    console.log(`${options.connections} connections, ${options.durationSeconds} s per target, autocannon`);
    printTable(results, 'node:http /version');
  } finally {
    await Promise.all([stop(baseline), stop(daemon)]);
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
