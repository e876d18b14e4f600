// The web checkout in a real browser: Chromium fills the form on a real bin/codiusd (real Podman pods,
// `moneyd local` beside it), is sent to the wallet's consent page at the stand-in Open Payments provider,
// approves or refuses there, and comes back to the host, which pays from the tenant's wallet and runs the
// pod. Every address is on loopback (Chromium resolves *.localhost itself).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { hashManifest } from '../../src/manifest/hash.js';
import { ARTIFACTS_DIR, launchChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/daemon.js';
import { PRICE_600, startPaidHost, testManifest } from '../helpers/open-payments/paid-host.js';
import { until } from '../helpers/wait.js';

const port = await freePort();
const host = await startPaidHost({
  CODIUS_PORT: String(port),
  CODIUS_PUBLIC_URI: `http://localhost:${port}`,
});
const { provider, fixture, hostWallet, viaProxy } = host;
const origin = `http://localhost:${port}`;
const browser = await launchChromium();
const tenant = provider.wallet('tenant', { assetCode: 'XRP', assetScale: 9, balance: 10n * PRICE_600 });
provider.consent = 'ask';

/** Fills the checkout form for a new pod, as a person would, and waits for the hash and price it shows. */
async function fillForm(page: Page, manifest: object, wallet: string): Promise<void> {
  await page.goto(`${origin}/deploy`);
  await page.getByLabel('Manifest (JSON)').fill(JSON.stringify(manifest, null, 2));
  await page.getByLabel('Duration (seconds)').fill('600');
  await page.getByLabel('Your Open Payments wallet address').fill(wallet);
  const hash = hashManifest(manifest as never);
  const shown = () => page.locator('#quote').innerText();
  await until('the page shows the hash', async () => (await shown()).includes(hash)).catch(
    async (error: unknown) => {
      throw new Error(`${String(error)}; the page shows ${JSON.stringify(await shown())}`);
    },
  );
}

/** Submits the form and waits for the wallet's consent page (or says what the host answered instead). */
async function toWallet(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Pay with my wallet' }).click();
  await page.waitForURL(`${provider.base}/**`, { timeout: 10_000 }).catch(async (error: unknown) => {
    const problem = await page
      .locator('#problem')
      .innerText({ timeout: 1000 })
      .catch(() => '');
    throw new Error(`${String(error).split('\n')[0]} at ${page.url()}: ${problem}`);
  });
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(ARTIFACTS_DIR, name);
  await page.screenshot({ path, fullPage: true });
  process.stdout.write(`# screenshot: ${path}\n`);
}

describe('the web checkout in Chromium', () => {
  let deployed = '';

  it('deploys a pod paid from the tenant’s wallet after consent at the wallet', async () => {
    const manifest = testManifest(fixture, 'checkout');
    const hash = hashManifest(manifest);
    const before = { tenant: tenant.balance, host: hostWallet.balance };
    const page = await browser.newPage();
    await fillForm(page, manifest, tenant.id);
    assert.match(await page.locator('#quote').innerText(), /0\.002283106 XRP/);
    await screenshot(page, 'checkout-before-consent.png');
    await toWallet(page);
    assert.match(
      await page.locator('#limit').innerText(),
      new RegExp(`Up to ${PRICE_600} \\(XRP, scale 9\\)`),
    );
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${origin}/deploy/finish/**`);
    await page.locator('#pod-url').waitFor();
    await screenshot(page, 'checkout-done.png');
    assert.equal(await page.locator('#pod-hash').innerText(), hash);
    assert.equal(await page.locator('#pod-url').getAttribute('href'), `http://${hash}.localhost:${port}/`);
    assert.equal(tenant.balance, before.tenant - PRICE_600, 'the tenant paid the price');
    assert.equal(hostWallet.balance, before.host + PRICE_600, 'into the host wallet');
    await until('the pod answers through the proxy', async () => (await viaProxy(hash)) === 200, 20_000);
    deployed = hash;
    await page.close();
  });

  it('extends the pod from the link the result page gives', async () => {
    assert.ok(deployed, 'the deploy test ran first');
    const page = await browser.newPage();
    await page.goto(`${origin}/deploy?extend=${deployed}`);
    assert.equal(await page.locator('#extend-hash').innerText(), deployed);
    await page.getByLabel('Duration (seconds)').fill('600');
    await page.getByLabel('Your Open Payments wallet address').fill(tenant.id);
    const before = tenant.balance;
    await toWallet(page);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#pod-expiry').waitFor();
    const expiry = Date.parse((await page.locator('#pod-expiry').getAttribute('datetime')) ?? '');
    assert.ok(expiry - Date.now() > 900_000, 'two paid periods of 600 s, less the time passed');
    assert.equal(tenant.balance, before - PRICE_600);
    await page.close();
  });

  it('pays nothing when the tenant refuses at the wallet, and shows the form again as it was', async () => {
    const manifest = testManifest(fixture, 'refused');
    const before = { tenant: tenant.balance, host: hostWallet.balance };
    const page = await browser.newPage();
    await fillForm(page, manifest, tenant.id);
    await toWallet(page);
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.locator('#problem').waitFor();
    assert.match(
      await page.locator('#problem').innerText(),
      /not approved at your wallet\. Nothing was paid/,
    );
    const kept = JSON.parse(await page.getByLabel('Manifest (JSON)').inputValue()) as { name: string };
    assert.equal(kept.name, manifest.name, 'the manifest is still in the form');
    assert.equal(await page.getByLabel('Your Open Payments wallet address').inputValue(), tenant.id);
    assert.deepEqual([tenant.balance, hostWallet.balance], [before.tenant, before.host]);
    await page.close();
  });

  it('says so when the wallet cannot pay, and books nothing', async () => {
    const poor = provider.wallet('poor', { assetCode: 'XRP', assetScale: 9, balance: 1000n });
    const manifest = testManifest(fixture, 'poor');
    const page = await browser.newPage();
    await fillForm(page, manifest, poor.id);
    await toWallet(page);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#problem').waitFor();
    assert.match(await page.locator('#problem').innerText(), /did not send the payment/);
    assert.equal(poor.balance, 1000n);
    const status = await (await fetch(`${origin}/pods?manifestHash=${hashManifest(manifest)}`)).json();
    assert.equal((status as { statusCode?: number }).statusCode, 404, 'no pod');
    await page.close();
  });

  it('refuses an unknown wallet address or another site’s form before anything is paid', async () => {
    const manifest = testManifest(fixture, 'nowallet');
    const page = await browser.newPage();
    await fillForm(page, manifest, `${provider.base}/wallets/nobody`);
    await page.getByRole('button', { name: 'Pay with my wallet' }).click();
    await page.locator('#problem').waitFor();
    assert.match(await page.locator('#problem').innerText(), /No Open Payments wallet answered at/);
    assert.equal(
      (JSON.parse(await page.getByLabel('Manifest (JSON)').inputValue()) as { name: string }).name,
      manifest.name,
      'the form keeps what was typed',
    );
    const crossSite = await fetch(`${origin}/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.localhost' },
      body: new URLSearchParams({ manifest: JSON.stringify(manifest), duration: '600', wallet: tenant.id }),
    });
    assert.equal(crossSite.status, 403);
    const finishedTwice = await fetch(`${origin}/deploy/finish/unknown-checkout`);
    assert.equal(finishedTwice.status, 404);
    await page.close();
  });
});
