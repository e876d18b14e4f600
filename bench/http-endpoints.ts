// Throughput and latency of GET /version and GET /info on a real codiusd process (sqlite store, request
// logging to /dev/null), next to a bare node:http server answering the same bodies in the same run.
// Also the daemon's idle resident memory (quick-start defaults: sqlite, moneyd local, Podman), next to the
// bare server's.
// The same daemon without bin/codiusd's memory settings (V8's young generation, glibc's arenas) runs
// beside it, to show what they cost or save.
// Usage: npm run bench   (env BENCH_DURATION seconds per target, BENCH_CONNECTIONS (comma-separated,
// default 10,100), BENCH_ROUNDS, BENCH_IDLE_SECONDS)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

/** A codiusd of the bench: as bin/codiusd runs it, or with Node's and glibc's defaults for comparison. */
function spawnCodiusd(dataDir: string, port: number, withMemoryFlags: boolean): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CODIUS_DEV: 'true',
    CODIUS_ROOT: dataDir,
    CODIUS_PORT: String(port),
    CODIUS_BOOTSTRAP_PEERS: '[]',
  };
  if (withMemoryFlags) {
    return spawn(join(root, 'bin/codiusd'), [], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  }
  delete env.MALLOC_ARENA_MAX;
  return spawn(process.execPath, [join(root, 'dist/src/main.js'), '--'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function main(): Promise<void> {
  const durationSeconds = Number(process.env.BENCH_DURATION ?? 5);
  const connectionCounts = (process.env.BENCH_CONNECTIONS ?? '10,100').split(',').map(Number);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
  const dirs = [
    await mkdtemp(join(tmpdir(), 'codiusd-bench-')),
    await mkdtemp(join(tmpdir(), 'codiusd-bench-')),
  ];
  const daemons = [spawnCodiusd(dirs[0] ?? '', 3871, true), spawnCodiusd(dirs[1] ?? '', 3872, false)];
  let baseline: ChildProcess | undefined;
  try {
    // One at a time: the second embedded moneyd would find the first one's port taken and use it.
    for (const daemon of daemons) await waitForLine(daemon, /codiusd listening/);
    // The bare server answers exactly what codiusd answered, byte for byte.
    const bodiesFile = join(dirs[0] ?? '', 'bodies.json');
    const bodies: Record<string, string> = {};
    for (const path of ['/version', '/info'])
      bodies[path] = await (await fetch(`http://127.0.0.1:3871${path}`)).text();
    await writeFile(bodiesFile, JSON.stringify(bodies));
    baseline = spawn(process.execPath, [join(root, 'dist/bench/baseline-server.js'), '3870', bodiesFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitForLine(baseline, /ready/);
    for (const daemon of daemons) {
      // From here on the daemon's per-request log lines go nowhere, as with a quiet journal.
      daemon.stdout?.removeAllListeners('data');
      daemon.stdout?.resume();
    }
    // Idle: started, one request answered, then left alone as a host between uploads.
    for (const port of [3871, 3872]) await fetch(`http://127.0.0.1:${port}/info`);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idle = [await rssMiB(baseline.pid), await rssMiB(daemons[0]?.pid), await rssMiB(daemons[1]?.pid)];
    const servers = [
      ['node:http', 3870],
      ['codiusd', 3871],
      ['codiusd, no memory flags', 3872],
    ] as const;
    for (const connections of connectionCounts) {
      for (const path of ['/version', '/info']) {
        const targets = servers.map(
          ([name, port]) => [`${name} ${path}`, `http://127.0.0.1:${port}${path}`] as const,
        );
        const samples = new Map<string, LoadResult[]>(targets.map(([label]) => [label, []]));
        // Rounds interleave the targets, so a noisy moment on the machine hits all of them alike.
        for (let round = 0; round < rounds; round += 1) {
          for (const [label, url] of targets) {
            samples.get(label)?.push(await measure(label, url, { durationSeconds, connections }));
          }
        }
        console.log(
          `\n${connections} connections, ${durationSeconds} s per target, ${rounds} rounds (median), autocannon`,
        );
        printTable(
          targets.map(([label]) => medianResult(label, samples.get(label) ?? [])),
          `node:http ${path}`,
        );
      }
    }
    const afterLoad = [await rssMiB(daemons[0]?.pid), await rssMiB(daemons[1]?.pid)];
    console.log(
      `\nidle RSS after ${idleSeconds} s: bare node:http ${(idle[0] ?? NaN).toFixed(1)} MiB; codiusd ` +
        `${(idle[1] ?? NaN).toFixed(1)} MiB (${((idle[1] ?? NaN) / (idle[0] ?? NaN)).toFixed(2)} × bare); ` +
        `codiusd without memory flags ${(idle[2] ?? NaN).toFixed(1)} MiB. After the load: ` +
        `${(afterLoad[0] ?? NaN).toFixed(1)} and ${(afterLoad[1] ?? NaN).toFixed(1)} MiB.`,
    );
  } finally {
    await Promise.all([...(baseline ? [stop(baseline)] : []), ...daemons.map(stop)]);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

await main();
