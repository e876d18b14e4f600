import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createConnection, type DataAndMoneyStream } from 'ilp-protocol-stream';
import type { Manifest } from '../../src/domain/types.js';
import { createIlpPlugin, type IlpPlugin } from '../../src/ilp/plugin.js';
import { fixIlpProtocolStream } from '../../src/ilp/stream-compat.js';
import { hashManifest } from '../../src/manifest/hash.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { openStore } from '../../src/store/store.js';
import { freePort, startDaemon } from '../helpers/daemon.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { podman, setupPodman } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { adoptHostOf } from '../helpers/pod-fixture.js';

fixIlpProtocolStream();
const fixture = await setupPodman();
const moneyd = await setupMoneyd();

/** 10 XRP per month at scale 9: 600 s cost 2283106 base units. */
const PRICE_600 = 2_283_106n;
const PARTIAL = 1_000_000n;
const root = await tempDir();
const hostId = hostIdFromSecret((await loadOrCreateHostSecret(root)).secret);
fixture.adoptHostId(hostId);
const env = {
  ...fixture.daemonEnv(root, await freePort()),
  CODIUS_PAYMENT_TIMEOUT: '120',
};

interface Payer {
  manifest: Manifest;
  stream: DataAndMoneyStream;
  plugin: IlpPlugin;
  /** The answer to the paid request (rejects when the host dies first). */
  answer: Promise<{ status: number; body: string }>;
}

/** A Codius client's paid upload, held open at the point where its money flows (up to `max`). */
async function startUpload(url: string, manifest: Manifest, max: bigint): Promise<Payer> {
  const token = randomBytes(16).toString('base64url');
  const send = () =>
    fetch(`${url}/pods?duration=600`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'pay-token': token },
      body: JSON.stringify({ manifest }),
    }).then(async (response) => ({ status: response.status, body: await response.text() }));
  const challenge = await fetch(`${url}/pods?duration=600`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'pay-token': token },
    body: JSON.stringify({ manifest }),
  });
  const [, destinationAccount, secret] = (challenge.headers.get('pay') ?? '').split(' ');
  assert.equal(challenge.status, 402);
  const plugin = createIlpPlugin({
    plugin: 'ilp-plugin-btp',
    credentials: testBtpCredentials(),
    btpServer: null,
  });
  const connection = await createConnection({
    plugin,
    destinationAccount: destinationAccount ?? '',
    sharedSecret: Buffer.from(secret ?? '', 'base64'),
  });
  const stream = connection.createStream();
  stream.setSendMax(max.toString());
  await new Promise((resolve) => stream.once('data', resolve));
  const answer = send();
  answer.catch(() => undefined);
  return { manifest, stream, plugin, answer };
}

const manifestOf = (name: string): Manifest => ({
  name: `${name}-${randomBytes(4).toString('hex')}`,
  version: '1.0.0',
  port: '3000',
  containers: [{ id: 'web', image: fixture.webImage }],
});

describe('reliability: no money or paid time lost when codiusd dies', () => {
  it('kill -9 during 16 concurrent paid uploads: the ledger holds exactly what payers delivered', async (t) => {
    const first = await startDaemon(env);
    const full = await Promise.all(
      Array.from({ length: 8 }, (_, i) => startUpload(first.url, manifestOf(`full-${i}`), PRICE_600)),
    );
    const partial = await Promise.all(
      Array.from({ length: 8 }, (_, i) => startUpload(first.url, manifestOf(`partial-${i}`), PARTIAL)),
    );
    const answers = await Promise.all(full.map((payer) => payer.answer));
    assert.deepEqual(
      answers.map((a) => a.status),
      full.map(() => 200),
    );
    // The partial payers have sent all they will, and their requests wait for the rest: kill now.
    await until(
      'the partial payers sent their money',
      () => partial.every((payer) => BigInt(payer.stream.totalSent) === PARTIAL),
      60_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const payers = [...full, ...partial];
    const delivered = payers.reduce((sum, payer) => sum + BigInt(payer.stream.totalSent), 0n);
    for (const payer of payers) await payer.plugin.disconnect().catch(() => undefined);
    t.diagnostic(`delivered by 16 payers: ${delivered} (8 × ${PRICE_600} complete, 8 × ${PARTIAL} cut off)`);

    // Restart: interrupted payments are recovered as credit, the paid pods are there again.
    const second = await startDaemon(env);
    for (const payer of full) {
      const hash = hashManifest(payer.manifest);
      const record = await fetch(`${second.url}/pods?manifestHash=${hash}`);
      assert.equal(record.status, 200, `the paid pod ${hash} kept its record and expiry`);
    }
    await until(
      'the paid pods run again',
      async () => {
        const listed = await podman([
          'pod',
          'ps',
          '--filter',
          `label=codius.host=${hostId}`,
          '--format',
          '{{.Status}}',
        ]);
        const states = listed.split('\n').filter(Boolean);
        return states.length === full.length && states.every((state) => state === 'Running');
      },
      60_000,
    );
    second.child.kill('SIGTERM');
    await second.exited;

    const store = await openStore({ root, inMemory: false });
    try {
      let booked = 0n;
      let recovered = 0n;
      for (const payer of payers) {
        for (const line of await store.ledger.listForManifest(hashManifest(payer.manifest))) {
          booked += BigInt(line.amount);
          if (line.purpose === 'recovered') recovered += BigInt(line.amount);
        }
      }
      t.diagnostic(`booked in the ledger: ${booked}, of which recovered after the restart: ${recovered}`);
      assert.equal(booked, delivered, 'money delivered = money booked (paid + credit)');
      assert.equal(recovered, 8n * PARTIAL);
      for (const payer of partial) {
        assert.equal(
          await store.ledger.creditBalance(hashManifest(payer.manifest), { code: 'XRP', scale: 9 }),
          PARTIAL,
          'the cut-off payment is its manifest credit',
        );
      }
      assert.deepEqual(await store.paymentPackets.unbooked(), []);
    } finally {
      await store.close();
    }
    // No orphan: only the paid pods exist.
    const pods = (await podman(['pod', 'ps', '-q', '--filter', `label=codius.host=${hostId}`]))
      .split('\n')
      .filter(Boolean);
    assert.equal(pods.length, full.length);
  });

  it('SIGTERM during payments: they stop at once and book what arrived; the drain ends in time', async (t) => {
    const drained = { ...env, CODIUS_ROOT: await tempDir(), CODIUS_PORT: String(await freePort()) };
    await adoptHostOf(fixture, drained.CODIUS_ROOT);
    const daemon = await startDaemon(drained);
    const partial = await Promise.all(
      Array.from({ length: 4 }, (_, i) => startUpload(daemon.url, manifestOf(`drained-${i}`), PARTIAL)),
    );
    await until(
      'the partial payers sent their money',
      () => partial.every((payer) => BigInt(payer.stream.totalSent) === PARTIAL),
      60_000,
    );
    const started = Date.now();
    daemon.child.kill('SIGTERM');
    const answers = await Promise.all(
      partial.map((payer) => payer.answer.catch(() => ({ status: 0, body: '' }))),
    );
    const exit = await daemon.exited;
    const ms = Date.now() - started;
    for (const payer of partial) await payer.plugin.disconnect().catch(() => undefined);
    t.diagnostic(
      `answers during the drain: ${answers.map((a) => a.status).join(' ')}; exited ${String(exit.code)} after ${ms} ms`,
    );
    assert.equal(exit.code, 0);
    assert.ok(ms < 10_000, 'within the shutdown timeout, not the 120 s payment timeout');
    const store = await openStore({ root: drained.CODIUS_ROOT, inMemory: false });
    try {
      for (const payer of partial) {
        const lines = await store.ledger.listForManifest(hashManifest(payer.manifest));
        assert.deepEqual(
          lines.map((line) => [line.purpose, line.amount, line.credit]),
          [['shortfall', String(PARTIAL), String(PARTIAL)]],
        );
      }
      assert.deepEqual(await store.paymentPackets.unbooked(), [], 'booked before exit: nothing to recover');
    } finally {
      await store.close();
    }
  });

  it('a flood of 10,000 unpaid challenges from one client leaves another client’s paid upload working', async (t) => {
    const daemon = await startDaemon(env);
    const flooder = '198.51.100.66';
    let refused = 0;
    let challenged = 0;
    const manifest = manifestOf('flood');
    const flood = async (): Promise<void> => {
      for (let i = 0; i < 10_000 / 50; i += 1) {
        const response = await fetch(`${daemon.url}/pods?duration=600`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'pay-token': randomBytes(16).toString('base64url'),
            // From the trusted front proxy (loopback): the client is the address it names.
            'x-forwarded-for': flooder,
          },
          body: JSON.stringify({ manifest }),
        });
        await response.arrayBuffer();
        if (response.status === 429) refused += 1;
        else if (response.status === 402) challenged += 1;
        else assert.fail(`the flood got ${response.status}`);
      }
    };
    const flooding = Promise.all(Array.from({ length: 50 }, flood));
    const payer = await startUpload(daemon.url, manifestOf('honest'), PRICE_600);
    const answer = await payer.answer;
    await flooding;
    await payer.plugin.disconnect().catch(() => undefined);
    t.diagnostic(
      `flood: ${challenged} challenged, ${refused} refused with 429; the honest upload answered ${answer.status}`,
    );
    assert.equal(answer.status, 200, answer.body);
    assert.equal(challenged + refused, 10_000);
    assert.ok(challenged <= 16, 'one client holds at most its share of challenges');
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });

  it('unpaid challenges for many manifests from 64 addresses hold no memory: an honest upload still fits', async (t) => {
    // Room for two pods of 512 MiB on this machine, whatever its size, on a host with none yet.
    const fraction = (2.5 * 512 * 2 ** 20) / totalmem();
    const fresh = await tempDir();
    await adoptHostOf(fixture, fresh);
    const daemon = await startDaemon({
      ...env,
      CODIUS_ROOT: fresh,
      CODIUS_PORT: String(await freePort()),
      CODIUS_MAX_MEMORY_FRACTION: fraction.toFixed(6),
    });
    const { port } = new URL(daemon.url);
    /** A challenge from a loopback address of its own, as 64 different clients would send them. */
    const challengeFrom = (address: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ manifest: manifestOf(`unpaid-${address}`) });
        const req = request(
          {
            host: '127.0.0.1',
            port: Number(port),
            localAddress: address,
            method: 'POST',
            path: '/pods?duration=600',
            headers: {
              'content-type': 'application/json',
              'pay-token': randomBytes(16).toString('base64url'),
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const statuses = await Promise.all(
      Array.from({ length: 64 }, (_, i) => challengeFrom(`127.0.1.${i + 1}`)),
    );
    const info = (await (await fetch(`${daemon.url}/info`)).json()) as { fullMem: boolean };
    const payer = await startUpload(daemon.url, manifestOf('honest-after-flood'), PRICE_600);
    const answer = await payer.answer;
    await payer.plugin.disconnect().catch(() => undefined);
    t.diagnostic(
      `64 unpaid challenges: ${statuses.filter((s) => s === 402).length} answered 402; fullMem ${String(info.fullMem)}; the honest upload answered ${answer.status}`,
    );
    assert.deepEqual(new Set(statuses), new Set([402]));
    assert.equal(info.fullMem, false);
    assert.equal(answer.status, 200, answer.body);
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });

  it('Podman’s API service killed mid-upload: every 200 has its pod, money delivered = money booked', async (t) => {
    // This daemon runs (and supervises) its own Podman service, as a host without CODIUS_PODMAN_SOCKET.
    const own = await tempDir();
    const ownHost = hostIdFromSecret((await loadOrCreateHostSecret(own)).secret);
    fixture.adoptHostId(ownHost);
    const ownEnv: Record<string, string> = {
      ...env,
      CODIUS_ROOT: own,
      CODIUS_PORT: String(await freePort()),
      CONTAINERS_REGISTRIES_CONF: process.env.CONTAINERS_REGISTRIES_CONF ?? '',
    };
    delete ownEnv.CODIUS_PODMAN_SOCKET;
    const daemon = await startDaemon(ownEnv);
    const payers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => startUpload(daemon.url, manifestOf(`podman-dies-${i}`), PRICE_600)),
    );
    // The paid requests are on their way to the runtime: kill its service now.
    const pid = Number((await readFile(join(own, 'podman-service.pid'), 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    const answers = await Promise.all(payers.map((payer) => payer.answer));
    // An answer can reach the client before the last fulfillment of its payment reaches the payer: count
    // what was delivered once the payers have heard back about every packet (or a few seconds passed).
    await until(
      'every payer heard back about its packets',
      () => payers.every((payer) => BigInt(payer.stream.totalSent) === PRICE_600),
      5_000,
    ).catch(() => undefined);
    const delivered = payers.reduce((sum, payer) => sum + BigInt(payer.stream.totalSent), 0n);
    for (const payer of payers) await payer.plugin.disconnect().catch(() => undefined);
    const served = payers.filter((_, i) => answers[i]?.status === 200);
    t.diagnostic(
      `answers with the service killed: ${answers.map((a) => a.status).join(' ')}; delivered ${delivered}`,
    );
    assert.ok(
      answers.every((a) => a.status === 200 || a.status === 503),
      'served, or refused with credit',
    );
    // codiusd restarts the service; reconcile brings back every paid pod, and what a start cut short left
    // behind (a pod created just before the service died) is removed once the service answers again.
    await until(
      'every served upload has a running pod, and no other pod of this host is left',
      async () => {
        const listed = (
          await podman([
            'pod',
            'ps',
            '--filter',
            `label=codius.host=${ownHost}`,
            '--format',
            '{{.Labels}} {{.Status}}',
          ])
        )
          .split('\n')
          .filter(Boolean);
        const servedRunning = served.every((payer) =>
          listed.some((line) => line.includes(hashManifest(payer.manifest)) && line.endsWith('Running')),
        );
        return servedRunning && listed.length === served.length;
      },
      120_000,
    );
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    const leftovers = daemon.output().match(/removed a pod of this host that nobody pays for/g)?.length ?? 0;
    t.diagnostic(`pods a cut-short start left, removed: ${leftovers}`);
    const store = await openStore({ root: own, inMemory: false });
    try {
      let booked = 0n;
      for (const payer of payers) {
        for (const line of await store.ledger.listForManifest(hashManifest(payer.manifest)))
          booked += BigInt(line.amount);
        const record = await store.pods.get(hashManifest(payer.manifest));
        if (served.includes(payer)) assert.ok(record, 'a 200 keeps its record and expiry');
      }
      assert.equal(booked, delivered);
    } finally {
      await store.close();
    }
    const pods = (await podman(['pod', 'ps', '-q', '--filter', `label=codius.host=${ownHost}`]))
      .split('\n')
      .filter(Boolean);
    assert.equal(pods.length, served.length, 'no orphan pod');
  });

  // Last in the file: it kills the file's moneyd.
  it('moneyd killed mid-payment: what arrived is booked as credit, nothing more and nothing less', async (t) => {
    const short = {
      ...env,
      CODIUS_ROOT: await tempDir(),
      CODIUS_PORT: String(await freePort()),
      CODIUS_PAYMENT_TIMEOUT: '5',
    };
    await adoptHostOf(fixture, short.CODIUS_ROOT);
    const daemon = await startDaemon(short);
    const partial = await Promise.all(
      Array.from({ length: 6 }, (_, i) => startUpload(daemon.url, manifestOf(`moneyd-dies-${i}`), PARTIAL)),
    );
    await until(
      'the partial payers sent their money',
      () => partial.every((payer) => BigInt(payer.stream.totalSent) === PARTIAL),
      60_000,
    );
    await moneyd.stop();
    const answers = await Promise.all(partial.map((payer) => payer.answer));
    const delivered = partial.reduce((sum, payer) => sum + BigInt(payer.stream.totalSent), 0n);
    t.diagnostic(
      `answers with moneyd killed: ${answers.map((a) => a.status).join(' ')}; delivered ${delivered}`,
    );
    assert.ok(answers.every((a) => a.status !== 200));
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    await moneyd.restart();
    const store = await openStore({ root: short.CODIUS_ROOT, inMemory: false });
    try {
      let booked = 0n;
      for (const payer of partial) {
        const hash = hashManifest(payer.manifest);
        for (const line of await store.ledger.listForManifest(hash)) booked += BigInt(line.amount);
        assert.equal(await store.ledger.creditBalance(hash, { code: 'XRP', scale: 9 }), PARTIAL);
      }
      assert.equal(booked, delivered);
      assert.deepEqual(await store.paymentPackets.unbooked(), []);
    } finally {
      await store.close();
    }
    for (const payer of partial) await payer.plugin.disconnect().catch(() => undefined);
  });
});
