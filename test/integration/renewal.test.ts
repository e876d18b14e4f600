// Automatic renewal from the tenant's wallet, end to end: a real bin/codiusd (real Podman pods, `moneyd
// local` beside it) and the stand-in Open Payments provider, which enforces the grant's interval limit.
// A short pod bought at the checkout with "keep it running" is renewed twice (with a restart of codiusd
// between the renewals), then the tenant revokes the grant at their wallet: renewal stops and the pod
// expires. Another pod's renewal is stopped from the tenant's stop link. All traffic is on loopback.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { hashManifest } from '../../src/manifest/hash.js';
import { freePort } from '../helpers/daemon.js';
import { startPaidHost, testManifest } from '../helpers/open-payments/paid-host.js';
import { until, untilValue } from '../helpers/wait.js';

/** 20 s at 10 XRP a month, scale 9: ceil(10 × 10^9 × 20 / 2 628 000). */
const PRICE_20 = 76_104n;
const DURATION = 20;

const port = await freePort();
const origin = `http://localhost:${port}`;
const host = await startPaidHost({ CODIUS_PORT: String(port), CODIUS_PUBLIC_URI: origin });
const { provider, fixture, hostWallet } = host;
const tenant = provider.wallet('renewing-tenant', {
  assetCode: 'XRP',
  assetScale: 9,
  balance: 20n * PRICE_20,
});
const started = Date.now();
const timeline: string[] = [];
const note = (what: string) => timeline.push(`${((Date.now() - started) / 1000).toFixed(1)} s  ${what}`);
after(() =>
  process.stdout.write(`# renewal timeline:\n${timeline.map((line) => `#   ${line}`).join('\n')}\n`),
);

/** Checks out a pod with "keep it running", the wallet approving at once; the result page's HTML. */
async function checkoutWithRenewal(name: string): Promise<{ hash: string; page: string }> {
  const manifest = testManifest(fixture, name);
  const form = new URLSearchParams({
    manifest: JSON.stringify(manifest),
    duration: String(DURATION),
    wallet: tenant.id,
    renew: 'on',
  });
  const response = await fetch(`${origin}/deploy`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const page = await response.text();
  assert.equal(response.status, 200, page);
  return { hash: hashManifest(manifest), page };
}

interface PodStatus {
  expiry: string;
  renewal?: { active: boolean; nextAt: string | null; interval: string; walletAddress: string };
}

async function status(hash: string): Promise<PodStatus | undefined> {
  const response = await fetch(`${origin}/pods?manifestHash=${hash}`);
  return response.status === 200 ? ((await response.json()) as PodStatus) : undefined;
}

/** How many periods were added to the first expiry, once the next renewal is set after the last one. */
function renewedTimes(now: PodStatus | undefined, firstExpiry: string): number | undefined {
  if (!now?.renewal?.nextAt) return undefined;
  const expiry = Date.parse(now.expiry);
  if (Date.parse(now.renewal.nextAt) !== expiry - (DURATION * 1000) / 2) return undefined;
  return (expiry - Date.parse(firstExpiry)) / (DURATION * 1000);
}

/** The tenant's outgoing-payment grant for renewals, at their wallet. */
const tenantGrants = () =>
  [...provider.grants.values()].filter((g) =>
    g.access.some((a) => a.type === 'outgoing-payment' && a.identifier === tenant.id),
  );

describe('renewal from the tenant’s wallet', () => {
  it('renews a short pod twice, across a restart, and lets it expire once the grant is revoked', async () => {
    const initial = tenant.balance;
    const { hash, page } = await checkoutWithRenewal('renewed');
    note(`checkout paid ${initial - tenant.balance}, pod ${hash.slice(0, 8)}…`);
    assert.match(page, /id="renewal-stop" href="http:\/\/localhost:\d+\/deploy\/renewal\/[A-Za-z0-9_-]{24}"/);
    const first = await status(hash);
    assert.equal(first?.renewal?.active, true);
    assert.equal(first.renewal.walletAddress, tenant.id);
    assert.match(first.renewal.interval, new RegExp(`^R/\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z/PT${DURATION}S$`));
    const [grant] = tenantGrants();
    assert.ok(grant, 'the tenant approved one grant');
    assert.equal(
      JSON.stringify(grant.access[0]?.limits?.debitAmount),
      JSON.stringify({ value: String(PRICE_20), assetCode: 'XRP', assetScale: 9 }),
    );
    assert.equal(grant.access[0]?.limits?.interval, first.renewal.interval);

    const paidTimes = async (n: bigint) =>
      until(`${n} payments from the tenant`, () => tenant.balance === initial - n * PRICE_20, 40_000);
    await paidTimes(2n);
    const afterFirst = await untilValue('the first renewal shown', async () => {
      const now = await status(hash);
      return renewedTimes(now, first.expiry) === 1 ? now : undefined;
    });
    note(`renewed once: expiry ${afterFirst.expiry}, next ${afterFirst.renewal?.nextAt}`);

    await host.restart('SIGTERM');
    note('codiusd restarted');
    await paidTimes(3n);
    const afterSecond = await untilValue('the second renewal shown', async () => {
      const now = await status(hash);
      return renewedTimes(now, first.expiry) === 2 ? now : undefined;
    });
    note(`renewed twice: expiry ${afterSecond.expiry}, next ${afterSecond.renewal?.nextAt}`);

    grant.state = 'revoked';
    note('the tenant revoked the grant at the wallet');
    await until('renewal stops', async () => (await status(hash))?.renewal?.active === false, 40_000);
    note(`renewal stopped; tenant paid ${initial - tenant.balance} in all`);
    assert.equal(tenant.balance, initial - 3n * PRICE_20, 'nothing more was taken');
    await until('the pod expires', async () => (await status(hash)) === undefined, 60_000);
    note('the pod expired');

    const metrics = await (await host.admin('/metrics')).text();
    assert.match(metrics, /^codiusd_renewals_total\{outcome="stopped"\} 1$/m);
    assert.ok(hostWallet.balance >= 3n * PRICE_20);
  });

  it('stops renewing from the tenant’s link and revokes the grant at the wallet', async () => {
    const { hash, page } = await checkoutWithRenewal('stopped');
    const link = /id="renewal-stop" href="([^"]+)"/.exec(page)?.[1] ?? '';
    const shown = await (await fetch(link)).text();
    assert.match(shown, /Active: next renewal at/);
    const stopped = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    assert.equal(stopped.status, 200);
    assert.match(await stopped.text(), /Stopped \(stopped by the tenant\)/);
    assert.equal((await status(hash))?.renewal?.active, false);
    const grants = tenantGrants();
    assert.equal(grants.at(-1)?.state, 'revoked', 'the grant is revoked at the wallet');
    assert.equal((await fetch(`${origin}/deploy/renewal/not-a-key`)).status, 404);
  });
});
