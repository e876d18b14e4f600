import type { HostInfo } from '../domain/types.js';

export interface StatusPageView {
  version: string;
  info: HostInfo;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Bytes as a person reads them (decimal units). */
export function formatBytes(bytes: number): string {
  if (bytes <= 0) return 'N/A';
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(3)} gigabytes`;
  return `${(bytes / 1e6).toFixed(3)} megabytes`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const parts = [days && `${days} d`, (days || hours) && `${hours} h`, `${minutes} min`].filter(Boolean);
  return s < 60 ? `${s} s` : parts.join(' ');
}

/**
 * The HTML page served at / and every unmatched GET. Cells keep the ids Codius status pages use (uri, numPeers,
 * serverUptime, …) for scripts that scrape them.
 */
export function renderStatusPage({ version, info }: StatusPageView): string {
  const currency = info.currency ?? 'not connected to Interledger yet';
  const price = info.currency
    ? `${info.costPerMonth} ${info.currency} per month`
    : `${info.costPerMonth} per month`;
  const rows: Array<[id: string, label: string, value: string]> = [
    ['uri', 'Server URI', info.uri],
    ['acceptingUploads', 'Accepting uploads', info.acceptingUploads ? 'yes' : 'no'],
    ['costPerMonth', 'Monthly Hosting Rate', price],
    ['currency', 'Currencies Accepted', currency],
    ['memory', 'Free Memory', formatBytes(info.serverFreeMemory)],
    ['fullMem', 'Max Memory Used?', info.fullMem ? 'yes' : 'no'],
    [
      'runningContracts',
      'Running pods',
      info.runningContracts === undefined ? 'not published' : String(info.runningContracts),
    ],
    ['numPeers', 'Number of Peers', String(info.numPeers)],
    ['serverUptime', 'Server Uptime', formatDuration(info.serverUptime)],
    ['serviceUptime', 'Service Uptime', formatDuration(info.serviceUptime)],
    ['avgLoad', 'Average Load', `${(info.avgLoad * 100).toFixed(1)} % per CPU`],
  ];
  const tableRows = rows
    .map(
      ([id, label, value]) =>
        `      <tr><th scope="row">${escapeHtml(label)}</th><td id="${id}">${escapeHtml(value)}</td></tr>`,
    )
    .join('\n');
  const state = info.acceptingUploads ? 'open' : 'closed';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Codius host ${escapeHtml(info.uri)}</title>
  <style>
    :root { color-scheme: light dark; --accent: #2f6fdf; }
    body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2.5rem auto; padding: 0 1rem; }
    h1 { font-size: 1.6rem; margin-bottom: .2rem; }
    .sub { color: GrayText; margin-top: 0; }
    .badge { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; font-size: .85rem; color: #fff; }
    .open { background: #1f8a4c; } .closed { background: #a33; }
    table { border-collapse: collapse; width: 100%; margin: 1.2rem 0; }
    th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid color-mix(in srgb, GrayText 30%, transparent); }
    th { font-weight: 500; width: 45%; }
    code { background: color-mix(in srgb, GrayText 15%, transparent); padding: .1rem .3rem; border-radius: .25rem; }
    a { color: var(--accent); }
  </style>
</head>
<body>
  <h1 id="header">Codius Host v${escapeHtml(version)} at ${escapeHtml(info.uri)}</h1>
  <p class="sub">Uploads: <span class="badge ${state}">${state}</span></p>
  <p>This server is a <a href="https://codius.org">Codius</a> host run with codiusd. Anyone can run a
  container here and pay for the time over Interledger: upload a manifest with the
  <a href="https://github.com/codius/codius">Codius CLI</a>, e.g.
  <code>codius upload --host ${escapeHtml(info.uri)}</code>.</p>
  <table>
${tableRows}
  </table>
  <ul>
    <li><a href="/info">Host information (JSON)</a></li>
    <li><a href="/version">Version (JSON)</a></li>
    <li><a href="/peers">Peers of this host (random set of up to 1,000)</a></li>
  </ul>
</body>
</html>
`;
}
