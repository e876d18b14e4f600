import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LoadResult } from './table.js';

const run = promisify(execFile);

export interface WrkOptions {
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

/** Runs wrk (one thread: the machine's other core serves the proxy and the pod) and parses its report. */
export async function wrk(label: string, url: string, options: WrkOptions): Promise<LoadResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency'];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  const { stdout } = await run('wrk', [...args, url]);
  const percentile = (p: string): number => {
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)$`, 'm').exec(stdout);
    if (!match?.[1] || !match[2]) throw new Error(`no ${p}% latency in wrk output:\n${stdout}`);
    return toMs(match[1], match[2]);
  };
  const rate = /^Requests\/sec:\s+([\d.]+)$/m.exec(stdout)?.[1];
  if (rate === undefined) throw new Error(`no Requests/sec in wrk output:\n${stdout}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  const errors = socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    label,
    requestsPerSecond: Number(rate),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    failed: non2xx + errors,
  };
}
