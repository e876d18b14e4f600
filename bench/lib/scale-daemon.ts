import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/daemon.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** A codiusd process of the bench, timed from its spawn. */
export interface ScaleDaemon {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Milliseconds from the spawn to the first 200 on /version. */
  untilFirst200(): Promise<number>;
  /** Milliseconds from the spawn to /info saying the first reconcile pass has finished. */
  untilReconciled(): Promise<number>;
}

/** Polls `check` every `intervalMs` until it is true; throws after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** CPU seconds (user + system) the process has used. */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident memory of the process now (MiB). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/**
 * Starts bin/codiusd in development mode on `dataDir`. Its log is discarded as a quiet journal would, or,
 * with `onLogLine`, each JSON line is handed over as it comes.
 */
export async function spawnDaemon(
  dataDir: string,
  env: Record<string, string>,
  onLogLine?: (line: Record<string, unknown>) => void,
): Promise<ScaleDaemon> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(`${root}bin/codiusd`, [], {
    env: {
      ...process.env,
      CODIUS_DEV: 'true',
      CODIUS_ROOT: dataDir,
      CODIUS_PORT: String(port),
      CODIUS_PUBLIC_URI: 'https://codius.example.com',
      CODIUS_BOOTSTRAP_PEERS: '[]',
      CODIUS_ADDITIONAL_HOST_INFO: 'true',
      ...env,
    },
    stdio: ['ignore', onLogLine ? 'pipe' : 'ignore', 'pipe'],
  });
  if (onLogLine && child.stdout) {
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (text) => {
      if (text.startsWith('{')) onLogLine(JSON.parse(text) as Record<string, unknown>);
    });
  }
  // The banner and warnings go to stderr: kept, and shown only if the daemon fails.
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM')
      process.stderr.write(`codiusd exited ${String(code)}:\n${stderr}\n`);
  });
  const info = async (): Promise<{ podsReconciled?: boolean; runningContracts?: number }> =>
    (await (await fetch(`${url}/info`)).json()) as { podsReconciled?: boolean; runningContracts?: number };
  const since = (): number => performance.now() - started;
  return {
    child,
    pid: child.pid ?? 0,
    url,
    async untilFirst200() {
      await until(async () => (await fetch(`${url}/version`)).status === 200, 600_000, 5);
      return since();
    },
    async untilReconciled() {
      await until(async () => (await info()).podsReconciled === true, 1_800_000, 20);
      return since();
    },
  };
}

export async function stopDaemon(daemon: ScaleDaemon): Promise<void> {
  if (daemon.child.exitCode !== null) return;
  const exited = new Promise((resolve) => daemon.child.once('exit', resolve));
  daemon.child.kill('SIGTERM');
  await exited;
}
