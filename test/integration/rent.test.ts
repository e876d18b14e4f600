// Every pod's rent address, end to end: a real `moneyd local`, a bin/codiusd process with its connector,
// real pods. Money sent to `GET /pods/<hash>/rent` (SPSP) from outside, or by the pod itself from its own
// ILP account through CODIUS_RENT_SPSP, buys exactly the seconds it pays for; a pod that is gone gets
// nothing and nothing is booked.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'ilp-protocol-stream';
import type { Manifest } from '../../src/domain/types.js';
import { createIlpPlugin } from '../../src/ilp/plugin.js';
import { fixIlpProtocolStream } from '../../src/ilp/stream-compat.js';
import { hashManifest } from '../../src/manifest/hash.js';
import { priceFor } from '../../src/payments/price.js';
import { openStore } from '../../src/store/store.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { freePort, startDaemon } from '../helpers/daemon.js';
import { createPayingClient } from '../helpers/ilp-client.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { dependencyClosure } from '../helpers/node-modules.js';
import { callPod } from '../helpers/pod-app.js';
import { podAddress, setupPodman, waitForHttp } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until, untilAcceptingUploads, untilValue } from '../helpers/wait.js';

fixIlpProtocolStream();
/** A daemon that outlives the test that restarts it; the Podman fixture stops it at the end of the file. */
const startHost = (env: Record<string, string>) =>
  startDaemon(env, [], { stoppedBy: 'caller', stopSignal: 'SIGTERM' });
await setupMoneyd();
const fixture = await setupPodman();
const ilpImage = await fixture.nodeAppImage(
  fileURLToPath(new URL('../../../examples/earn-and-spend/', import.meta.url)),
  'app.mjs',
  dependencyClosure(['ilp-plugin', 'ilp-plugin-btp', 'ilp-protocol-stream', 'ilp-packet']),
);
const root = await tempDir();
fixture.adoptHostId(hostIdFromSecret((await loadOrCreateHostSecret(root)).secret));
const daemonEnv = fixture.daemonEnv(root, await freePort());
let daemon = await startHost(daemonEnv);
const payer = createPayingClient();
after(() => payer.close());
const PAY_TOKEN = 'rent-test-token';
/** The host's price at 10 XRP a month, scale 9. */
const price = (seconds: number): bigint => priceFor('10', 9, seconds);
const timeline: string[] = [];
after(() => process.stdout.write(`# rent arithmetic:\n${timeline.map((l) => `#   ${l}`).join('\n')}\n`));

async function upload(
  name: string,
  seconds: number,
  environment: Record<string, string> = {},
): Promise<{ hash: string; ip: string }> {
  await untilAcceptingUploads(daemon.url);
  const manifest: Manifest = {
    name: `${name}-${Date.now()}`,
    version: '1.0.0',
    port: '3000',
    containers: [{ id: 'app', image: ilpImage, environment: { PAY_TOKEN, ...environment } }],
  };
  const paid = await payer.request(`${daemon.url}/pods?duration=${seconds}`, {
    method: 'POST',
    body: { manifest },
    maxPrice: price(seconds),
  });
  assert.equal(paid.status, 200, paid.body);
  const hash = hashManifest(manifest);
  const ip = await podAddress(hash, fixture.network);
  await waitForHttp(`http://${ip}:3000/`, 20_000);
  return { hash, ip };
}

const call = <T>(ip: string, path: string, method = 'GET'): Promise<T> =>
  callPod<T>(ip, path, method, `Bearer ${PAY_TOKEN}`);

const expiryOf = async (hash: string): Promise<number | undefined> => {
  const answer = await fetch(`${daemon.url}/pods?manifestHash=${hash}`);
  return answer.status === 200 ? Date.parse(((await answer.json()) as { expiry: string }).expiry) : undefined;
};

async function rentAddress(hash: string): Promise<{ destination_account: string; shared_secret: string }> {
  const answer = await fetch(`${daemon.url}/pods/${hash}/rent`, {
    headers: { accept: 'application/spsp4+json' },
  });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get('content-type'), 'application/spsp4+json');
  return (await answer.json()) as { destination_account: string; shared_secret: string };
}

/** Sends `amount` from outside (a plugin of the test's own on moneyd); what was delivered. */
async function payFromOutside(spsp: { destination_account: string; shared_secret: string }, amount: bigint) {
  const plugin = createIlpPlugin({
    plugin: 'ilp-plugin-btp',
    credentials: testBtpCredentials(),
    btpServer: null,
  });
  try {
    const connection = await createConnection({
      plugin,
      destinationAccount: spsp.destination_account,
      sharedSecret: Buffer.from(spsp.shared_secret, 'base64'),
    });
    const stream = connection.createStream();
    const sending = stream.sendTotal(amount.toString(), { timeout: 10_000 });
    const outcome = await sending.then(
      () => 'sent',
      (error: unknown) => String(error),
    );
    const sent = BigInt(stream.totalSent);
    await connection.destroy().catch(() => undefined);
    return { sent, outcome };
  } catch (error) {
    return { sent: 0n, outcome: String(error) };
  } finally {
    await plugin.disconnect().catch(() => undefined);
  }
}

const pod = await upload('renter', 600);

describe('a pod’s rent address', () => {
  it('answers SPSP for a live pod, fresh each time; 404 for an unknown one, 400 for no hash', async () => {
    const first = await rentAddress(pod.hash);
    const second = await rentAddress(pod.hash);
    assert.notEqual(first.destination_account, second.destination_account);
    assert.equal(Buffer.from(first.shared_secret, 'base64').length, 32);
    assert.equal((await fetch(`${daemon.url}/pods/${'a'.repeat(52)}/rent`)).status, 404);
    assert.equal((await fetch(`${daemon.url}/pods/nothash/rent`)).status, 400);
  });

  it('buys exactly the seconds paid for from outside; the rest counts towards the next payment', async () => {
    const before = (await expiryOf(pod.hash)) ?? 0;
    const amount = price(100) + 1000n;
    const { sent } = await payFromOutside(await rentAddress(pod.hash), amount);
    assert.equal(sent, amount);
    const after100 = await untilValue('100 s more', async () => {
      const now = await expiryOf(pod.hash);
      return now === before + 100_000 ? now : undefined;
    });
    timeline.push(
      `outside paid ${amount} = price(100 s) ${price(100)} + 1000: +${(after100 - before) / 1000} s, 1000 kept`,
    );
    const topUp = price(1) - 1000n;
    assert.equal((await payFromOutside(await rentAddress(pod.hash), topUp)).sent, topUp);
    await until('one second more', async () => (await expiryOf(pod.hash)) === after100 + 1000);
    timeline.push(`outside paid ${topUp}; with the 1000 kept that is price(1 s) ${price(1)}: +1 s, 0 kept`);
  });

  it('is paid by the pod itself from its own ILP account through CODIUS_RENT_SPSP', async () => {
    const funding = await payFromOutside(
      await call<{ destinationAccount: string; sharedSecret: string }>(pod.ip, '/address').then((a) => ({
        destination_account: a.destinationAccount,
        shared_secret: a.sharedSecret,
      })),
      200_000n,
    );
    assert.equal(funding.sent, 200_000n);
    const before = (await expiryOf(pod.hash)) ?? 0;
    const rent = price(30);
    const paid = await call<{ sent: string; error?: string }>(pod.ip, `/pay-rent?amount=${rent}`, 'POST');
    assert.equal(paid.sent, rent.toString(), JSON.stringify(paid));
    await until('30 s more', async () => (await expiryOf(pod.hash)) === before + 30_000);
    timeline.push(`the pod paid ${rent} = price(30 s) from its own account: +30 s`);
  });

  it('books what arrived once when codiusd is killed during a rent payment', async () => {
    // Paid in 100 parts of 10,000 (one STREAM stream raised part by part), killed after the 30th part.
    const spsp = await rentAddress(pod.hash);
    const plugin = createIlpPlugin({
      plugin: 'ilp-plugin-btp',
      credentials: testBtpCredentials(),
      btpServer: null,
    });
    after(() => plugin.disconnect().catch(() => undefined));
    const connection = await createConnection({
      plugin,
      destinationAccount: spsp.destination_account,
      sharedSecret: Buffer.from(spsp.shared_secret, 'base64'),
    });
    const stream = connection.createStream();
    let parts = 0;
    const paying = (async () => {
      for (let part = 1; part <= 100; part += 1) {
        await stream.sendTotal((BigInt(part) * 10_000n).toString(), { timeout: 5_000 });
        parts = part;
      }
    })().catch(() => undefined);
    await until('30 parts paid', () => parts >= 30);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await paying;
    const delivered = BigInt(stream.totalSent);
    await connection.destroy().catch(() => undefined);
    const rentLines = async () => {
      const store = await openStore({ root, inMemory: false });
      try {
        return (await store.ledger.listForManifest(pod.hash)).filter((line) => line.purpose === 'rent');
      } finally {
        await store.close();
      }
    };
    // Rent before this test: 100 s and 1 s from outside, 30 s from the pod itself.
    const earlier = price(100) + price(1) + price(30);
    const sum = (lines: Array<{ amount: string }>) =>
      lines.reduce((total, line) => total + BigInt(line.amount), 0n);
    const linesAtKill = await rentLines();
    const booked = sum(linesAtKill) - earlier;
    // A packet is booked before its fulfillment leaves: all the payer was told arrived is booked, and at
    // most the part in flight at the kill is booked without the payer hearing of it.
    assert.ok(delivered >= 300_000n && delivered < 1_000_000n, `killed mid-payment: ${delivered} delivered`);
    assert.ok(
      booked >= delivered && booked <= delivered + 10_000n,
      `booked ${booked}, delivered ${delivered}`,
    );
    daemon = await startHost(daemonEnv);
    const topUp = price(1);
    assert.equal((await payFromOutside(await rentAddress(pod.hash), topUp)).sent, topUp);
    // Fulfilled means booked: read the store with the daemon stopped, then start it again.
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    const linesAfter = await rentLines();
    daemon = await startHost(daemonEnv);
    // The restart booked nothing again: the lines of the kill are all there once, and the top-up is one more.
    assert.equal(linesAfter.length, linesAtKill.length + 1);
    assert.equal(sum(linesAfter), sum(linesAtKill) + topUp);
    timeline.push(
      `kill -9 after ${parts} of 100 parts of 10000: ${delivered} reported delivered, ${booked} booked, once (${linesAtKill.length - 3} lines), nothing booked again by the restart`,
    );
  });

  it('keeps a pod running from what it earns: it pays its own rent when little time is left', async () => {
    const rentAmount = price(20);
    const keeper = await upload('keeper', 30, { KEEP_ALIVE_BELOW: '15', RENT_AMOUNT: rentAmount.toString() });
    const paidUntil = (await expiryOf(keeper.hash)) ?? 0;
    const address = await call<{ destinationAccount: string; sharedSecret: string }>(keeper.ip, '/address');
    const tips = await payFromOutside(
      { destination_account: address.destinationAccount, shared_secret: address.sharedSecret },
      200_000n,
    );
    assert.equal(tips.sent, 200_000n);
    const started = Date.now();
    const seen: string[] = [];
    await until(
      'the pod paid its rent twice',
      async () => {
        const state = await call<{ received: string; rentPaid: string; rentPayments: unknown[] }>(
          keeper.ip,
          '/received',
        );
        const expiry = (await expiryOf(keeper.hash)) ?? 0;
        const line = `${((Date.now() - started) / 1000).toFixed(0)} s: earned ${state.received}, rent paid ${state.rentPaid}, runs until +${(expiry - paidUntil) / 1000} s`;
        if (seen.at(-1)?.replace(/^\d+ s: /, '') !== line.replace(/^\d+ s: /, '')) seen.push(line);
        return expiry === paidUntil + 40_000;
      },
      60_000,
      1_000,
    );
    assert.ok(Date.now() > paidUntil, 'it runs past the time it was uploaded for');
    timeline.push(
      `a pod uploaded for 30 s, tipped 200000, paying ${rentAmount} = price(20 s) when under 15 s are left:`,
    );
    for (const line of seen) timeline.push(`  ${line}`);
  });

  it('takes nothing for a pod that expired and was removed', async () => {
    const short = await upload('short', 5);
    const spsp = await rentAddress(short.hash);
    await until('the pod is gone', async () => (await expiryOf(short.hash)) === undefined, 60_000);
    assert.equal((await fetch(`${daemon.url}/pods/${short.hash}/rent`)).status, 404);
    const sentAt = Date.now();
    const late = await payFromOutside(spsp, price(10));
    const refusedAfter = Date.now() - sentAt;
    assert.equal(late.sent, 0n, late.outcome);
    timeline.push(
      `a payment of ${price(10)} to a removed pod: 0 delivered, refused after ${refusedAfter} ms (${late.outcome.slice(0, 80)})`,
    );
  });
});
