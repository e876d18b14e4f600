import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { HostInfo } from '../../src/domain/types.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { ARTIFACTS_DIR, launchChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/daemon.js';
import { createPayingClient } from '../helpers/ilp-client.js';
import { capturingLogger } from '../helpers/logs.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { removeSelfTestImagesAfter, setupPodman } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const fixture = await setupPodman();
await setupMoneyd();
removeSelfTestImagesAfter();

/** 10 XRP per month at scale 9: 300 s cost 1141553 base units. */
const PRICE_300 = 1_141_553n;
const root = await tempDir();
const port = await freePort();
const adminPort = await freePort();
const publicUri = `http://codius.test:${port}`;
const admin = `http://127.0.0.1:${adminPort}`;
const api = `http://127.0.0.1:${port}`;
fixture.adoptHostId(hostIdFromSecret((await loadOrCreateHostSecret(root)).secret));

/** A production host (no CODIUS_DEV) on loopback: the self test connects to its own port. */
async function startHost(): Promise<App> {
  const config = loadConfig({
    CODIUS_PUBLIC_URI: publicUri,
    CODIUS_PORT: String(port),
    CODIUS_ROOT: root,
    ...fixture.podmanEnv,
    CODIUS_BOOTSTRAP_PEERS: '[]',
    CODIUS_SELF_TEST_ADDRESS: `127.0.0.1:${port}`,
    CODIUS_SELF_TEST_INTERVAL: '1',
    CODIUS_SELF_TEST_REPEAT: '0',
    CODIUS_ADMIN_API: 'true',
    CODIUS_ADMIN_PORT: String(adminPort),
    ILP_CREDENTIALS: JSON.stringify(testBtpCredentials()),
  });
  const app = createApp({ config, logger: capturingLogger().logger });
  await app.start();
  return app;
}

/** What the browser-side functions below use of the DOM (the project compiles without the DOM's types). */
interface PageElement {
  dataset: Record<string, string | undefined>;
  width: number;
  height: number;
  querySelector(selector: string): PageElement | null;
}
interface PageDocument {
  body: PageElement;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
/** The browser's global object; the functions run there (playwright sends their compiled source). */
interface PageWindow {
  document: PageDocument;
}

/** The admin listener's token, generated on the first start (no CODIUS_ADMIN_TOKEN here). */
const adminToken = async (): Promise<string> => (await readFile(join(root, 'admin-token'), 'utf8')).trim();
const getJson = async <T>(url: string): Promise<T> => {
  const headers: Record<string, string> = url.startsWith(admin)
    ? { authorization: `Bearer ${await adminToken()}` }
    : {};
  return (await (await fetch(url, { headers })).json()) as T;
};

let app = await startHost();
after(() => app.stop());

describe('the operator side on a production host (real Podman, moneyd, Chromium)', () => {
  let selfTestHash = '';

  it('closes the paid routes with the self-test 503 until the self test passed over HTTP and WebSocket', async () => {
    const early = await fetch(`${api}/pods?duration=60`, { method: 'OPTIONS' });
    assert.equal(early.status, 503);
    const body = (await early.json()) as { message: string; stats: Record<string, boolean> };
    assert.equal(body.message, 'Self Test Running');
    assert.equal(body.stats.selfTestSuccess, false);
    assert.equal((await getJson<HostInfo>(`${api}/info`)).selfTestSuccess, false, '/info tells the truth');
    await until(
      'the self test passed',
      async () => (await getJson<HostInfo>(`${api}/info`)).selfTestSuccess,
      120_000,
      250,
    );
    const { running } = await getJson<{ running: string[] }>(`${admin}/getPods`);
    assert.equal(running.length, 1, "the self test's pod");
    selfTestHash = running[0] ?? '';
    const info = await getJson<Record<string, unknown>>(`${admin}/getPodInfo?id=${selfTestHash}`);
    assert.equal(info.totalUptime, 300);
    assert.equal(info.running, true);
  });

  it('books what the self test paid: received = earned + credit, in the ledger and in the metrics', async () => {
    const money = await getJson<
      Record<
        string,
        {
          assetScale: number;
          received: string;
          earned: string;
          credit: string;
          methods: Record<string, string>;
        }
      >
    >(`${admin}/api/money`);
    // The self test pays over STREAM, the only method this host takes.
    const price = PRICE_300.toString();
    assert.deepEqual(money, {
      XRP: { assetScale: 9, received: price, earned: price, credit: '0', methods: { stream: price } },
    });
    assert.deepEqual(await getJson(`${admin}/getAllUptime`), {
      aggregate_pod_uptime: '300',
      aggregate_earnings: { XRP: '0.001141553' },
    });
    const metrics = await (
      await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${await adminToken()}` } })
    ).text();
    const value = (sample: string): number => {
      const line = metrics.split('\n').find((l) => l.startsWith(`${sample} `));
      assert.ok(line, `${sample} is exposed`);
      return Number(line.slice(sample.length + 1));
    };
    assert.equal(value('codiusd_self_test_passed'), 1);
    assert.equal(value('codiusd_pods{state="running"}'), 1);
    assert.equal(value('codiusd_payments_total{method="stream",asset_code="XRP",outcome="complete"}'), 1);
    assert.equal(value('codiusd_money_earned_base_units{asset_code="XRP"}'), Number(PRICE_300));
    assert.equal(value('codiusd_ilp_connected'), 1);
    assert.ok(
      value('codiusd_proxy_requests_total{status_class="2xx"}') >= 1,
      'the self test went through the proxy',
    );
    assert.equal(value('codiusd_pod_start_duration_seconds_count'), 1);
    assert.ok(!metrics.includes(selfTestHash), 'no manifest hash as a label');
    assert.doesNotMatch(metrics, /="\d+\.\d+\.\d+\.\d+"/, 'no address as a label');
    // The admin routes are not on the public port (its status page answers every other path).
    assert.doesNotMatch(await (await fetch(`${api}/metrics`)).text(), /codiusd_pods/);
    assert.doesNotMatch(await (await fetch(`${api}/getPods`)).text(), /"running"/);
  });

  it('takes a paying client once the gate is open', async () => {
    const payer = createPayingClient();
    after(() => payer.close());
    const manifest = {
      name: 'after-self-test',
      version: '1.0.0',
      port: '3000',
      containers: [{ id: 'web', image: fixture.webImage }],
    };
    const upload = await payer.request(`${api}/pods?duration=300`, {
      method: 'POST',
      body: { manifest },
      maxPrice: PRICE_300,
    });
    assert.equal(upload.status, 200, upload.body);
    const { pods } = await getJson<{
      pods: Array<{ manifestHash: string; address: string | null; ilpBalance: unknown }>;
    }>(`${admin}/api/pods`);
    assert.equal(pods.length, 2);
    assert.ok(pods.every((pod) => pod.address !== null));
  });

  it('draws the dashboard in Chromium: the pods the API lists, three plots; screenshot kept', async () => {
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${admin}/`);
    // The page asks for the token once; the tab keeps it for its later requests.
    await page.fill('#token', await adminToken());
    await page.click('#login button[type=submit]');
    // Two refreshes: the activity plots draw from the second sample on.
    await page.waitForFunction(
      () => (globalThis as unknown as PageWindow).document.body.dataset.refreshed !== undefined,
    );
    const first = await page.evaluate(
      () => (globalThis as unknown as PageWindow).document.body.dataset.refreshed,
    );
    await page.waitForFunction(
      (previous) => (globalThis as unknown as PageWindow).document.body.dataset.refreshed !== previous,
      first,
      {
        timeout: 15_000,
      },
    );
    assert.deepEqual(errors, []);
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as PageWindow).document.body.dataset.errors),
      '0',
    );
    const listed = (await getJson<{ pods: Array<{ manifestHash: string }> }>(`${admin}/api/pods`)).pods
      .map((pod) => pod.manifestHash)
      .sort();
    const shown = (
      await page.evaluate(() =>
        [...(globalThis as unknown as PageWindow).document.querySelectorAll('#pods tbody tr')].map(
          (row) => row.dataset.hash,
        ),
      )
    ).sort();
    assert.deepEqual(shown, listed);
    assert.match((await page.textContent('#pods tbody tr td.countdown')) ?? '', /\d+ min \d+ s|\d+ s/);
    const plots = await page.evaluate(() =>
      [...(globalThis as unknown as PageWindow).document.querySelectorAll('.plot')].map((div) => {
        const canvas = div.querySelector('canvas');
        return canvas ? canvas.width * canvas.height : 0;
      }),
    );
    assert.equal(plots.length, 3);
    assert.ok(
      plots.every((area) => area > 0),
      `every plot drew a canvas: ${plots.join(', ')}`,
    );
    assert.match((await page.textContent('#self-test')) ?? '', /passed/);
    assert.match((await page.textContent('#money-table')) ?? '', /XRP\s*0\.00228/);
    const screenshot = join(ARTIFACTS_DIR, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    process.stdout.write(`# dashboard screenshot: ${screenshot}\n`);
  });

  it("a page of another site in the operator's browser cannot change the price or read the admin API", async () => {
    const priceBefore = (await getJson<HostInfo>(`${api}/info`)).costPerMonth;
    // The attacker's page, on another origin of this machine, tries what a page may send without asking.
    const page = `<!doctype html><body><script>
      const target = 'http://127.0.0.1:${adminPort}';
      const body = '{"hostCostPerMonth":0.000000001}';
      Promise.allSettled([
        fetch(target + '/config', { method: 'POST', mode: 'no-cors', body: new Blob([body]) }),
        fetch(target + '/config', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body }),
        fetch(target + '/config', { method: 'POST', mode: 'no-cors', credentials: 'include', body }),
        fetch(target + '/api/money').then((r) => r.text()),
      ]).then((results) => { document.body.dataset.results = JSON.stringify(results.map((r) => r.status + ':' + (r.value && typeof r.value === 'string' ? r.value.slice(0, 40) : ''))); });
    </script></body>`;
    const site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    after(() => site.close());
    const sitePort = (site.address() as { port: number }).port;
    const browser = await launchChromium();
    const tab = await browser.newPage();
    await tab.goto(`http://localhost:${sitePort}/`);
    await tab.waitForFunction(
      () => (globalThis as unknown as PageWindow).document.body.dataset.results !== undefined,
    );
    const results = await tab.evaluate(
      () => (globalThis as unknown as PageWindow).document.body.dataset.results,
    );
    assert.doesNotMatch(results ?? '', /fulfilled:\{/, 'nothing of the admin API was read');
    assert.equal(
      (await getJson<HostInfo>(`${api}/info`)).costPerMonth,
      priceBefore,
      'the price is unchanged',
    );
  });

  it('keeps a price set with POST /config across a restart', async () => {
    const set = await fetch(`${admin}/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await adminToken()}` },
      body: JSON.stringify({ hostCostPerMonth: 25 }),
    });
    assert.equal(set.status, 204);
    assert.equal((await getJson<HostInfo>(`${api}/info`)).costPerMonth, 25);
    await app.stop();
    app = await startHost();
    assert.equal((await getJson<HostInfo>(`${api}/info`)).costPerMonth, 25);
  });
});
