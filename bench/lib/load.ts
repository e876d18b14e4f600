import autocannon from 'autocannon';

export interface LoadResult {
  label: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

export interface LoadOptions {
  connections?: number;
  durationSeconds?: number;
  warmupSeconds?: number;
}

/** Drives `url` with autocannon: a short warm-up, then the measured run. */
export async function measure(label: string, url: string, options: LoadOptions = {}): Promise<LoadResult> {
  const connections = options.connections ?? 32;
  await autocannon({ url, connections, duration: options.warmupSeconds ?? 1 });
  const result = await autocannon({ url, connections, duration: options.durationSeconds ?? 5 });
  return {
    label,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Prints results as a table with ratios against the named baseline row. */
export function printTable(results: readonly LoadResult[], baselineLabel: string): void {
  const baseline = results.find((r) => r.label === baselineLabel);
  if (!baseline) throw new Error(`no baseline ${baselineLabel}`);
  const rows = results.map((r) => [
    r.label,
    r.requestsPerSecond.toFixed(0),
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    (r.requestsPerSecond / baseline.requestsPerSecond).toFixed(2),
    (r.p99Ms / Math.max(baseline.p99Ms, 0.001)).toFixed(2),
    String(r.non2xx + r.errors),
  ]);
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'req/s ratio', 'p99 ratio', 'failed'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(`(ratios against "${baselineLabel}", measured in the same run)`);
}
