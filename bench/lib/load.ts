import autocannon from 'autocannon';
import type { LoadResult } from './table.js';

export interface LoadOptions {
  connections?: number;
  durationSeconds?: number;
  warmupSeconds?: number;
  headers?: Record<string, string>;
}

/** Drives `url` with autocannon: a short warm-up, then the measured run. */
export async function measure(label: string, url: string, options: LoadOptions = {}): Promise<LoadResult> {
  const connections = options.connections ?? 32;
  const headers = options.headers ?? {};
  await autocannon({ url, connections, headers, duration: options.warmupSeconds ?? 1 });
  const result = await autocannon({ url, connections, headers, duration: options.durationSeconds ?? 5 });
  return {
    label,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failed: result.non2xx + result.errors,
  };
}
