const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface DashboardData {
  publicUri: string;
  refreshSeconds: number;
}

/**
 * The dashboard's page: no data in it, so a browser may load it before it has the token. dashboard.js
 * (served beside it, so the page's content security policy allows no inline script) asks for the token
 * once per browser session, keeps it in the tab's session storage (never in a URL or a cookie) and fills
 * the page from the JSON routes.
 */
export function renderDashboard(data: DashboardData): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>codiusd · ${escapeHtml(new URL(data.publicUri).host)}</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body data-refresh="${data.refreshSeconds}">
<header><h1>codiusd</h1><span id="host">${escapeHtml(data.publicUri)}</span><span id="self-test">self test: …</span></header>
<form id="login" hidden>
<p id="login-problem" role="alert"></p>
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Open the dashboard</button>
<p class="hint">It is CODIUS_ADMIN_TOKEN, or the content of the admin-token file in CODIUS_ROOT. This tab keeps it until it closes.</p>
</form>
<main id="board" hidden>
<section id="money"><h2>Money</h2><table id="money-table"><thead><tr><th>asset</th><th>received</th><th>earned</th><th>credit</th></tr></thead><tbody></tbody></table><table id="money-methods"><thead><tr><th>method</th><th>asset</th><th>received</th></tr></thead><tbody></tbody></table></section>
<section><h2>Pods <span id="pod-count"></span></h2>
<table id="pods"><thead><tr><th>manifest</th><th>state</th><th>expires in</th><th>memory</th><th>address</th><th>ILP balance</th></tr></thead>
<tbody></tbody></table></section>
<section class="plots">
<figure><figcaption>Earnings per hour (last 24 h)</figcaption><div id="earnings-plot" class="plot"></div></figure>
<figure><figcaption>Uploads and extensions (since this page opened)</figcaption><div id="uploads-plot" class="plot"></div></figure>
<figure><figcaption>Proxied requests by status (since this page opened)</figcaption><div id="proxy-plot" class="plot"></div></figure>
</section>
<section><h2>Peers <span id="peer-count"></span></h2><ul id="peers"></ul></section>
<section><h2>Certificates</h2><table id="certificates"><thead><tr><th>name</th><th>kind</th><th>expires in</th><th>renewal</th></tr></thead><tbody></tbody></table></section>
<section><h2>Settings</h2><table id="settings"><tbody></tbody></table></section>
<footer>Refreshes every ${data.refreshSeconds} s · <button type="button" id="logout">Forget the token</button></footer>
</main>
<script src="/assets/uPlot.iife.min.js"></script>
<script src="/assets/dashboard.js"></script>
</body>
</html>
`;
}

export const DASHBOARD_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 2rem 2rem; color: #1d2330; }
header { display: flex; gap: 1.5rem; align-items: baseline; border-bottom: 1px solid #ccd; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
table { border-collapse: collapse; } td, th { padding: .25rem .75rem; border-bottom: 1px solid #e3e6ee; text-align: left; }
td.hash { font-family: ui-monospace, monospace; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0; } .plot { width: 440px; height: 220px; }
#self-test.ok { color: #0a7a32; } #self-test.bad { color: #b3261e; }
#login { display: grid; gap: .5rem; max-width: 24rem; margin-top: 2rem; } #login[hidden], main[hidden] { display: none; }
#login-problem { color: #b3261e; margin: 0; } .hint { color: #555; font-size: .9em; }
`;

/** The dashboard's script: polls the JSON routes, updates the tables and the three plots. */
export const DASHBOARD_JS = `
'use strict';
const refreshMs = Number(document.body.dataset.refresh || 5) * 1000;
const TOKEN_KEY = 'codiusd-admin-token';
class Unauthorized extends Error {}
const get = (path) => fetch(path, {
  credentials: 'omit',
  headers: { authorization: 'Bearer ' + (sessionStorage.getItem(TOKEN_KEY) || '') },
}).then((r) => {
  if (r.status === 401) throw new Unauthorized(path + ' answered 401');
  if (!r.ok) throw new Error(path + ' answered ' + r.status);
  return r.json();
});
const text = (el, value) => { el.textContent = value; };
const cell = (row, value) => { const td = row.insertCell(); td.textContent = value; return td; };
function whole(amount, scale) {
  const digits = BigInt(amount).toString().padStart(scale + 1, '0');
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return digits.slice(0, digits.length - scale) + (fraction ? '.' + fraction : '');
}
function countdown(ms) {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return (h ? h + ' h ' : '') + (h || m ? m + ' min ' : '') + (s % 60) + ' s';
}
function plot(id, series) {
  const el = document.getElementById(id);
  const chart = new uPlot({ width: el.clientWidth || 440, height: 200, series: [{}, ...series.map((label, i) => ({
    label, stroke: ['#3b6fd8', '#d8823b', '#3bb07a', '#b03b7a', '#777'][i % 5], width: 2 }))] },
    [[], ...series.map(() => [])], el);
  el.dataset.series = String(series.length);
  return chart;
}
let earningsChart = null;
const uploads = { chart: null, t: [], uploads: [], extensions: [], last: null };
const proxy = { chart: null, t: [], byClass: { '2xx': [], '3xx': [], '4xx': [], '5xx': [] }, last: null };

async function refreshPods() {
  const { pods } = await get('/api/pods');
  const body = document.querySelector('#pods tbody');
  body.replaceChildren();
  for (const pod of pods) {
    const row = body.insertRow();
    row.dataset.hash = pod.manifestHash;
    const hash = cell(row, pod.manifestHash.slice(0, 12) + '…');
    hash.className = 'hash'; hash.title = pod.manifestHash;
    cell(row, pod.state);
    const expiry = cell(row, ''); expiry.className = 'countdown'; expiry.dataset.expiry = String(Date.parse(pod.expiry));
    cell(row, pod.memoryMiB + ' MiB');
    cell(row, pod.address || '');
    const b = pod.ilpBalance;
    cell(row, b ? whole(b.amount, b.assetScale) + ' ' + b.assetCode : '').className = 'balance';
  }
  text(document.getElementById('pod-count'), String(pods.length));
  tick();
}
function tick() {
  for (const el of document.querySelectorAll('td.countdown')) text(el, countdown(Number(el.dataset.expiry) - Date.now()));
}
async function refreshMoney() {
  const money = await get('/api/money');
  const body = document.querySelector('#money-table tbody');
  body.replaceChildren();
  for (const [code, m] of Object.entries(money)) {
    const row = body.insertRow();
    cell(row, code);
    for (const key of ['received', 'earned', 'credit']) cell(row, whole(m[key], m.assetScale));
  }
  const methods = document.querySelector('#money-methods tbody');
  methods.replaceChildren();
  for (const [code, m] of Object.entries(money)) {
    for (const [method, received] of Object.entries(m.methods)) {
      const row = methods.insertRow();
      cell(row, method);
      cell(row, code);
      cell(row, whole(received, m.assetScale));
    }
  }
}
async function refreshEarnings() {
  const { buckets, assets } = await get('/api/earnings?hours=24&bucketMinutes=60');
  const codes = Object.keys(assets);
  const data = [buckets.map((b) => b.at / 1000), ...codes.map((c) => buckets.map((b) => Number(whole(b.earned[c] || '0', assets[c].assetScale))))];
  if (!earningsChart || earningsChart.series.length !== codes.length + 1) {
    earningsChart?.destroy();
    earningsChart = plot('earnings-plot', codes.length ? codes : ['earned']);
  }
  earningsChart.setData(codes.length ? data : [data[0], data[0].map(() => 0)]);
}
async function refreshActivity() {
  const a = await get('/api/activity');
  const t = Date.parse(a.at) / 1000;
  // Each point is what happened since the previous sample; the first sample is the zero line's start.
  const previous = uploads.last || a, previousProxied = proxy.last || a.proxied;
  uploads.t.push(t); uploads.uploads.push(a.uploads - previous.uploads); uploads.extensions.push(a.extensions - previous.extensions);
  proxy.t.push(t);
  for (const k of Object.keys(proxy.byClass)) proxy.byClass[k].push((a.proxied[k] || 0) - (previousProxied[k] || 0));
  for (const series of [uploads.t, uploads.uploads, uploads.extensions, proxy.t, ...Object.values(proxy.byClass)]) {
    if (series.length > 720) series.shift();
  }
  uploads.last = a; proxy.last = a.proxied;
  uploads.chart ??= plot('uploads-plot', ['uploads', 'extensions']);
  proxy.chart ??= plot('proxy-plot', Object.keys(proxy.byClass));
  uploads.chart.setData([uploads.t, uploads.uploads, uploads.extensions]);
  proxy.chart.setData([proxy.t, ...Object.values(proxy.byClass)]);
}
async function refreshPeers() {
  const { count, peers } = await get('/api/peers');
  text(document.getElementById('peer-count'), String(count));
  const list = document.getElementById('peers');
  list.replaceChildren(...peers.slice(0, 50).map((p) => {
    const li = document.createElement('li');
    li.textContent = p.uri + (p.lastSeenAt ? ' · seen ' + p.lastSeenAt : ' · not seen yet');
    return li;
  }));
}
async function refreshCertificates() {
  const { certificates } = await get('/api/certificates');
  const body = document.querySelector('#certificates tbody');
  body.replaceChildren();
  for (const c of certificates) {
    const row = body.insertRow();
    cell(row, c.names.join(', ')).title = c.name;
    cell(row, c.kind + ' (' + c.source + ')');
    const expiry = cell(row, ''); expiry.className = 'countdown'; expiry.dataset.expiry = String(Date.parse(c.notAfter));
    const renewal = c.failures > 0 ? c.failures + ' failed: ' + (c.lastError || '') : c.renewAt ? 'at ' + c.renewAt : 'by hand';
    cell(row, renewal).className = c.failures > 0 ? 'bad' : '';
  }
  tick();
}
async function refreshSettings() {
  const s = await get('/api/settings');
  const st = s.selfTest;
  const badge = document.getElementById('self-test');
  text(badge, 'self test: ' + (!st ? 'off' : st.running ? 'running' : st.selfTestSuccess ? 'passed' : 'failed' + (st.failure ? ' (' + st.failure + ')' : '')));
  badge.className = st && st.selfTestSuccess ? 'ok' : st && !st.running ? 'bad' : '';
  const body = document.querySelector('#settings tbody');
  body.replaceChildren();
  for (const [key, value] of Object.entries(s)) {
    if (key === 'selfTest') continue;
    const row = body.insertRow();
    cell(row, key);
    cell(row, value && typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
}
function showLogin(problem) {
  document.getElementById('board').hidden = true;
  document.getElementById('login').hidden = false;
  text(document.getElementById('login-problem'), problem || '');
  document.getElementById('token').focus();
}
async function refresh() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return showLogin('');
  const parts = [refreshPods(), refreshMoney(), refreshEarnings(), refreshActivity(), refreshPeers(), refreshCertificates(), refreshSettings()];
  const results = await Promise.allSettled(parts);
  if (results.some((r) => r.status === 'rejected' && r.reason instanceof Unauthorized)) {
    sessionStorage.removeItem(TOKEN_KEY);
    return showLogin('That token was refused.');
  }
  document.getElementById('login').hidden = true;
  document.getElementById('board').hidden = false;
  document.body.dataset.refreshed = String(Date.now());
  document.body.dataset.errors = String(results.filter((r) => r.status === 'rejected').length);
}
document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('token');
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  input.value = '';
  refresh();
});
document.getElementById('logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin('');
});
tick();
setInterval(tick, 1000);
refresh();
setInterval(refresh, refreshMs);
`;
