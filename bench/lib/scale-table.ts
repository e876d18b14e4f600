import { printColumns } from './table.js';

/** What one start of the daemon on a store of some size measured. */
export interface StartFigures {
  label: string;
  firstOkMs: number;
  firstPassMs: number;
  /** CPU seconds used until 20 s after the first 200. */
  cpu: number;
  rss: number;
  infoRps: number;
  proxyRps: number;
}

/** 1,000 pods expiring over a minute: how long after the last was due all were gone, and the CPU it took. */
export interface ExpiryFigures {
  label: string;
  lagMs: number;
  cpu: number;
}

/** A figure of a table: its name, how to read it from a row, its decimals, and whether a ratio means anything. */
type Column = readonly [string, (row: never) => number, number, boolean?];

/** A table of rows with a ratio column per figure against the first row (the baseline). */
export function printRatioTable(title: string, columns: readonly Column[], rows: readonly object[]): void {
  const base = rows[0];
  const header = ['store', ...columns.flatMap(([name, , , ratio = true]) => (ratio ? [name, '×'] : [name]))];
  const cells = rows.map((row) => [
    (row as { label: string }).label,
    ...columns.flatMap(([, value, digits, withRatio = true]) => {
      const figure = value(row as never);
      if (!withRatio) return [figure.toFixed(digits)];
      const ratio = base ? figure / Math.max(value(base as never), 1e-9) : NaN;
      return [figure.toFixed(digits), ratio.toFixed(2)];
    }),
  ]);
  printColumns(`\n${title} (× = ratio against the first row)`, header, cells);
}

export function printScaleTables(starts: readonly StartFigures[], expiries: readonly ExpiryFigures[]): void {
  printRatioTable(
    'start',
    [
      ['first 200 ms', (r: StartFigures) => r.firstOkMs, 0],
      ['first pass ms', (r: StartFigures) => r.firstPassMs, 0],
      ['CPU s', (r: StartFigures) => r.cpu, 2],
      ['RSS MiB', (r: StartFigures) => r.rss, 1],
      ['/info req/s', (r: StartFigures) => r.infoRps, 0],
      ['proxy req/s', (r: StartFigures) => r.proxyRps, 0],
    ],
    starts,
  );
  printRatioTable(
    'expiry of 1,000 pods due over one minute',
    [
      // A lag near zero has no meaningful ratio.
      ['all gone, ms after the last was due', (r: ExpiryFigures) => r.lagMs, 0, false],
      ['CPU s from the first due', (r: ExpiryFigures) => r.cpu, 2],
    ],
    expiries,
  );
}
