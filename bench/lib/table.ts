/** One load-test target's result, whatever tool measured it. */
export interface LoadResult {
  label: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Failed requests: socket errors plus unexpected statuses. */
  failed: number;
}

/** Prints results as a table with req/s and p99 ratios against the row labelled `baselineLabel`. */
export function printTable(results: readonly LoadResult[], baselineLabel: string): void {
  const baseline = results.find((r) => r.label === baselineLabel);
  if (!baseline) throw new Error(`no baseline ${baselineLabel}`);
  const rows = results.map((r) => [
    r.label,
    r.requestsPerSecond.toFixed(0),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    (r.requestsPerSecond / baseline.requestsPerSecond).toFixed(2),
    // Below the tool's resolution (1 ms for autocannon) a latency ratio means nothing.
    baseline.p99Ms > 0 ? (r.p99Ms / baseline.p99Ms).toFixed(2) : 'n/a',
    String(r.failed),
  ]);
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'req/s ratio', 'p99 ratio', 'failed'];
  printColumns(`ratios against: ${baselineLabel}`, header, rows);
}

/** Prints a title, then the header and rows in columns as wide as their widest cell. */
export function printColumns(title: string, header: readonly string[], rows: readonly string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(title);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

/** One target's result over several rounds: the median req/s, p50 and p99, and every failure. */
export function medianResult(label: string, runs: readonly LoadResult[]): LoadResult {
  const median = (values: number[]): number =>
    [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? NaN;
  return {
    label,
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
  };
}
