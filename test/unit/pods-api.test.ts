import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashManifest } from '../../src/manifest/hash.js';
import type { Manifest } from '../../src/domain/types.js';
import { bodyOf, openApiHost, PRICE_300, PRICE_600, webManifest } from '../helpers/api-host.js';

const host = await openApiHost();

describe('the /pods API over the in-memory runtime', () => {
  it('asks for the price with a 402 and a Pay header, then starts the pod once paid', async () => {
    const manifest = webManifest('paid');
    const hash = hashManifest(manifest);
    const before = Date.now();
    const { first, response, token } = await host.paid({
      method: 'POST',
      url: '/pods?duration=600',
      payload: { manifest },
      pays: PRICE_600 * 2n,
    });
    assert.equal(first.statusCode, 402);
    assert.deepEqual(bodyOf(first), {
      statusCode: 402,
      error: 'Payment Required',
      message: 'Payment Required',
    });
    assert.match(String(first.headers.pay), /^interledger-stream test\.fake\.[0-9a-f]{32} \S+$/);
    assert.equal(response.statusCode, 200, response.payload);
    const body = bodyOf(response);
    assert.equal(body.url, `https://${hash}.codius.example.com/`);
    assert.equal(body.manifestHash, hash);
    const expiry = Date.parse(String(body.expiry));
    assert.ok(expiry >= before + 600_000 && expiry <= Date.now() + 600_000);
    assert.equal(host.runtime.pods.get(hash)?.running, true);

    const [line] = await host.store.ledger.listForManifest(hash);
    assert.equal(line?.amount, PRICE_600.toString(), 'exactly the price was taken');
    assert.equal(line.purpose, 'upload');
    assert.equal(line.payTokenHash, createHash('sha256').update(token).digest('hex'));
    assert.equal(host.receiver.finished >= 1, true, 'the payer stream was finished after the response');
  });

  it('shows a live pod at GET /pods and extends it with PUT', async () => {
    const manifest = webManifest('extend');
    const hash = hashManifest(manifest);
    const uploaded = await host.paid({
      method: 'POST',
      url: '/pods?duration=600',
      payload: { manifest },
      pays: PRICE_600,
    });
    assert.equal(uploaded.response.statusCode, 200);
    const shown = await host.inject({ method: 'GET', url: `/pods?manifestHash=${hash.toUpperCase()}` });
    assert.equal(shown.statusCode, 200);
    assert.deepEqual(bodyOf(shown), { ...bodyOf(uploaded.response), manifest });

    const extended = await host.paid({
      method: 'PUT',
      url: `/pods?manifestHash=${hash}&duration=300`,
      pays: PRICE_300,
    });
    assert.equal(extended.response.statusCode, 200, extended.response.payload);
    const delta =
      Date.parse(String(bodyOf(extended.response).expiry)) -
      Date.parse(String(bodyOf(uploaded.response).expiry));
    assert.equal(delta, 300_000);
    const purposes = (await host.store.ledger.listForManifest(hash)).map((l) => [l.purpose, l.amount]);
    assert.deepEqual(purposes, [
      ['upload', PRICE_600.toString()],
      ['extend', PRICE_300.toString()],
    ]);
  });

  it('quotes for free with the golden price and asset', async () => {
    const manifest = webManifest('quote');
    const response = await host.inject({
      method: 'OPTIONS',
      url: '/pods?duration=600',
      payload: { manifest },
      token: null,
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(bodyOf(response), {
      manifestHash: hashManifest(manifest),
      price: PRICE_600.toString(),
      assetCode: 'XRP',
      assetScale: 9,
    });
  });

  it('refuses a replayed Pay-Token: a stream pays for one request only', async () => {
    const manifest = webManifest('replay');
    const { response, token } = await host.paid({
      method: 'POST',
      url: '/pods?duration=600',
      payload: { manifest },
      pays: PRICE_600,
    });
    assert.equal(response.statusCode, 200);
    const replay = await host.inject({
      method: 'POST',
      url: '/pods?duration=600',
      payload: { manifest },
      token,
    });
    assert.equal(replay.statusCode, 400);
    assert.match(String(bodyOf(replay).message), /already used/);
  });

  it('answers Pay-Token problems with the texts clients expect', async () => {
    const manifest = webManifest('token');
    const missing = await host.inject({
      method: 'POST',
      url: '/pods?duration=60',
      payload: { manifest },
      token: null,
    });
    assert.equal(missing.statusCode, 400);
    assert.equal(bodyOf(missing).message, 'must supply `Pay-Token` header.');
    const malformed = await host.inject({
      method: 'POST',
      url: '/pods?duration=60',
      payload: { manifest },
      token: null,
      headers: { 'pay-token': 'not*base64!' },
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(bodyOf(malformed).message, '`Pay-Token` must be 16 bytes base64.');
  });

  it('answers every client error before asking for money', async () => {
    const unknown = hashManifest(webManifest('never'));
    const manifest = webManifest('errors');
    const cases: Array<[string, Parameters<typeof host.inject>[0], number, RegExp]> = [
      [
        'schema',
        { method: 'POST', url: '/pods', payload: { manifest: { name: 'x' } } },
        400,
        /^Invalid request payload input$/,
      ],
      [
        'duration',
        { method: 'POST', url: '/pods?duration=0', payload: { manifest } },
        400,
        /from 1 to 31536000; got "0"/,
      ],
      [
        'reserved env',
        {
          method: 'POST',
          url: '/pods',
          payload: {
            manifest: {
              ...manifest,
              containers: [
                {
                  id: 'a',
                  image:
                    'registry.example/i@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
                  environment: { CODIUS_X: '1' },
                },
              ],
            },
          },
        },
        422,
        /are reserved\. var=CODIUS_X$/,
      ],
      [
        'PUT unknown',
        { method: 'PUT', url: `/pods?manifestHash=${unknown}&duration=60` },
        404,
        new RegExp(`^no pod found with id\\. id=${unknown}$`),
      ],
      ['PUT no hash', { method: 'PUT', url: '/pods?duration=60' }, 422, /^manifestHash must be specified$/],
      ['PUT bad hash', { method: 'PUT', url: '/pods?manifestHash=abc' }, 400, /52-character/],
      [
        'PUT body',
        { method: 'PUT', url: `/pods?manifestHash=${unknown}`, payload: { a: 1 } },
        400,
        /^Invalid request payload input$/,
      ],
      [
        'GET unknown',
        { method: 'GET', url: `/pods?manifestHash=${unknown}` },
        404,
        /^No manifest with hash of "/,
      ],
    ];
    for (const [name, request, status, message] of cases) {
      const response = await host.inject(request);
      assert.equal(response.statusCode, status, name);
      assert.equal(response.headers.pay, undefined, `${name}: no payment asked`);
      assert.match(String(bodyOf(response).message), message, name);
    }
    const schema = await host.inject(cases[0]?.[1] ?? { method: 'GET', url: '/' });
    assert.deepEqual((bodyOf(schema).validation as { keys: string[] }).keys, ['manifest', 'version']);
  });

  it('keeps a short payment as credit, and the next upload spends it', async () => {
    const manifest = webManifest('short');
    const hash = hashManifest(manifest);
    const short = await host.paid({
      method: 'POST',
      url: '/pods?duration=600',
      payload: { manifest },
      pays: 1_000_000n,
    });
    assert.equal(short.response.statusCode, 402);
    assert.equal(bodyOf(short.response).message, 'Failed to get payment before timeout');
    assert.equal(host.runtime.pods.has(hash), false);
    assert.equal(await host.store.ledger.creditBalance(hash, { code: 'XRP', scale: 9 }), 1_000_000n);

    const second = await host.paid({
      method: 'POST',
      url: '/pods?duration=600',
      payload: { manifest },
      pays: PRICE_600,
    });
    assert.equal(second.response.statusCode, 200, second.response.payload);
    assert.equal(bodyOf(second.response).creditUsed, '1000000');
    const lines = await host.store.ledger.listForManifest(hash);
    assert.deepEqual(
      lines.map((l) => [l.purpose, l.amount, l.credit]),
      [
        ['shortfall', '1000000', '1000000'],
        ['upload', (PRICE_600 - 1_000_000n).toString(), '-1000000'],
      ],
    );
  });

  it('keeps the payment as credit when the image cannot be had (422), and a retry needs no money', async () => {
    const manifest = webManifest('missing-image');
    const hash = hashManifest(manifest);
    const image = manifest.containers[0]?.image ?? '';
    host.runtime.availableImages = new Set();
    try {
      const failed = await host.paid({
        method: 'POST',
        url: '/pods?duration=600',
        payload: { manifest },
        pays: PRICE_600,
      });
      assert.equal(failed.response.statusCode, 422);
      assert.equal(
        bodyOf(failed.response).message,
        `image ${image} is not available: manifest unknown. The 2283106 (XRP, scale 9) paid is kept as credit for this manifest and used by its next upload.`,
      );
      assert.equal(host.directory.get(hash), undefined);
    } finally {
      host.runtime.availableImages = null;
    }
    const retried = await host.inject({ method: 'POST', url: '/pods?duration=600', payload: { manifest } });
    assert.equal(retried.statusCode, 200, 'the credit covers the whole price: no 402');
    assert.equal(bodyOf(retried).creditUsed, PRICE_600.toString());
  });

  it('answers 503 naming the manifest when the runtime fails the start, money kept as credit', async () => {
    const manifest = webManifest('start-fails');
    const hash = hashManifest(manifest);
    host.runtime.failNextStart();
    const failed = await host.paid({
      method: 'POST',
      url: '/pods?duration=600',
      payload: { manifest },
      pays: PRICE_600,
    });
    assert.equal(failed.response.statusCode, 503);
    assert.match(
      String(bodyOf(failed.response).message),
      new RegExp(`^pod could not be started\\. manifestHash=${hash}\\. The 2283106 `),
    );
    const lines = await host.store.ledger.listForManifest(hash);
    assert.deepEqual(
      lines.map((l) => [l.purpose, l.amount, l.credit]),
      [
        ['upload', PRICE_600.toString(), '0'],
        ['unserved', '0', PRICE_600.toString()],
      ],
      'the paid line and its refund as credit',
    );
  });

  it('after 3 failed starts answers 429 with Retry-After before payment and before any runtime work', async () => {
    const manifest = webManifest('keeps-failing');
    const hash = hashManifest(manifest);
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      host.runtime.failNextStart();
      // The credit kept from the first failure pays for the next tries: no payment is needed.
      const tried =
        attempt === 1
          ? (
              await host.paid({
                method: 'POST',
                url: '/pods?duration=600',
                payload: { manifest },
                pays: PRICE_600,
              })
            ).response
          : await host.inject({ method: 'POST', url: '/pods?duration=600', payload: { manifest } });
      assert.equal(tried.statusCode, 503, `attempt ${attempt}`);
    }
    const runs = host.runtime.calls.filter((call) => call === `runPod ${hash}`).length;
    const cooling = await host.inject({ method: 'POST', url: '/pods?duration=600', payload: { manifest } });
    assert.equal(cooling.statusCode, 429);
    assert.equal(cooling.headers['retry-after'], '300');
    assert.match(
      String(bodyOf(cooling).message),
      /failed to start or crashed repeatedly; try again in 300 s/,
    );
    assert.equal(
      host.runtime.calls.filter((call) => call === `runPod ${hash}`).length,
      runs,
      'no runtime work',
    );
    assert.equal(
      await host.store.ledger.creditBalance(hash, { code: 'XRP', scale: 9 }),
      PRICE_600,
      'credit kept',
    );
  });

  it('counts concurrent paid uploads of one manifest, with one pod', async () => {
    const manifest = webManifest('concurrent');
    const hash = hashManifest(manifest);
    const started = Date.now();
    const results = await Promise.all(
      [0, 1, 2].map(() =>
        host.paid({ method: 'POST', url: '/pods?duration=600', payload: { manifest }, pays: PRICE_600 }),
      ),
    );
    for (const result of results) assert.equal(result.response.statusCode, 200);
    assert.equal(host.runtime.calls.filter((c) => c === `runPod ${hash}`).length, 1, 'one pod');
    const record = await host.pods.get(hash);
    assert.ok(record && record.expiresAt >= started + 1_800_000);
  });

  it('refuses uploads before payment when payments or the runtime are not ready, or the host is full', async () => {
    const manifest = webManifest('not-ready');
    host.asset.current = null;
    try {
      const response = await host.inject({ method: 'POST', url: '/pods?duration=60', payload: { manifest } });
      assert.equal(response.statusCode, 503);
      assert.equal(
        bodyOf(response).message,
        'This host cannot take payments right now: not connected to its ILP provider (moneyd).',
      );
    } finally {
      host.asset.current = { code: 'XRP', scale: 9 };
    }
    const small = await openApiHost({ totalMemoryBytes: 2 ** 20 });
    const full = await small.inject({ method: 'POST', url: '/pods?duration=60', payload: { manifest } });
    assert.equal(full.statusCode, 503);
    assert.equal(bodyOf(full).message, 'Memory usage exceeded. Send pod request later.');
    assert.equal(full.headers.pay, undefined);
  });
});

describe('runtime readiness', () => {
  it('turns false when the runtime stops answering, so uploads are refused before payment, and back', async () => {
    const host = await openApiHost();
    const manifest = webManifest('runtime-dies');
    host.runtime.down = true;
    await assert.rejects(host.pods.reconcile());
    const refused = await host.inject({ method: 'POST', url: '/pods?duration=60', payload: { manifest } });
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers.pay, undefined, 'no payment asked for');
    host.runtime.down = false;
    await host.pods.reconcile();
    const challenged = await host.inject({ method: 'POST', url: '/pods?duration=60', payload: { manifest } });
    assert.equal(challenged.statusCode, 402);
  });

  it('turns false at the first call that finds the runtime gone, before any reconcile', async () => {
    const host = await openApiHost();
    const first = webManifest('dies-mid-upload');
    host.runtime.down = true;
    const failed = await host.paid({
      method: 'POST',
      url: '/pods?duration=60',
      payload: { manifest: first },
      pays: PRICE_600,
    });
    assert.equal(failed.response.statusCode, 503);
    assert.equal(host.pods.ready(), false);
    const next = await host.inject({
      method: 'POST',
      url: '/pods?duration=60',
      payload: { manifest: webManifest('next') },
    });
    assert.equal(next.statusCode, 503);
    assert.equal(next.headers.pay, undefined);
    host.runtime.down = false;
  });
});

describe('memory held as the money arrives', () => {
  it('unpaid challenges hold nothing: a flood of them leaves room for a paying client', async () => {
    // Room for two pods of 512 MiB: 1.5 GiB × 0.75 = 1152 MiB.
    const host = await openApiHost({ totalMemoryBytes: 1.5 * 2 ** 30 });
    for (let i = 0; i < 20; i += 1) {
      const challenge = await host.inject({
        method: 'POST',
        url: '/pods?duration=600',
        payload: { manifest: webManifest(`flood-${i}`) },
      });
      assert.equal(challenge.statusCode, 402);
    }
    const info = JSON.parse((await host.inject({ method: 'GET', url: '/info', token: null })).payload) as {
      fullMem: boolean;
    };
    assert.equal(info.fullMem, false);
    const honest = await host.paid({
      method: 'POST',
      url: '/pods?duration=600',
      payload: { manifest: webManifest('honest') },
      pays: PRICE_600,
    });
    assert.equal(honest.response.statusCode, 200);
  });

  it('concurrent payers cannot overcommit: the one whose money comes last is refused, nothing taken', async () => {
    const host = await openApiHost({ totalMemoryBytes: 1.5 * 2 ** 30 });
    const manifests = ['a', 'b', 'c'].map((name) => webManifest(`capacity-${name}`));
    const paid = await Promise.all(
      manifests.map((manifest) =>
        host.paid({ method: 'POST', url: '/pods?duration=600', payload: { manifest }, pays: PRICE_600 }),
      ),
    );
    assert.deepEqual(
      paid.map((p) => p.first.statusCode),
      [402, 402, 402],
      'every challenge fits while nothing is paid',
    );
    assert.deepEqual(paid.map((p) => p.response.statusCode).sort(), [200, 200, 503]);
    const refused = paid.findIndex((p) => p.response.statusCode === 503);
    const third = paid[refused];
    assert.ok(third);
    assert.equal(bodyOf(third.response).message, 'Memory usage exceeded. Send pod request later.');
    const refusedHash = hashManifest(manifests[refused] as Manifest);
    assert.deepEqual(
      await host.store.ledger.listForManifest(refusedHash),
      [],
      'no money taken, nothing booked',
    );
    assert.equal(
      (
        await host.inject({
          method: 'POST',
          url: '/pods?duration=600',
          payload: { manifest: manifests[refused] },
        })
      ).statusCode,
      503,
      'the host is full before any challenge now',
    );
  });

  it('a payment whose pod fails releases what it held', async () => {
    const host = await openApiHost({ totalMemoryBytes: 2 ** 30 });
    const first = webManifest('held-then-failed');
    const second = webManifest('after-release');
    host.runtime.failNextStart();
    const failed = await host.paid({
      method: 'POST',
      url: '/pods?duration=60',
      payload: { manifest: first },
      pays: PRICE_600,
    });
    assert.equal(failed.response.statusCode, 503);
    assert.equal(
      (await host.inject({ method: 'POST', url: '/pods?duration=60', payload: { manifest: second } }))
        .statusCode,
      402,
      'released',
    );
  });
});

describe('pod logs route over the in-memory runtime', () => {
  it('streams the logs of a debug pod, and refuses others with the texts clients expect', async () => {
    const debug = webManifest('logs', { debug: true });
    const plain = webManifest('nologs');
    for (const manifest of [debug, plain]) {
      const { response } = await host.paid({
        method: 'POST',
        url: '/pods?duration=600',
        payload: { manifest },
        pays: PRICE_600,
      });
      assert.equal(response.statusCode, 200);
    }
    const debugHash = hashManifest(debug);
    host.runtime.logs.set(debugHash, ['hello', 'world']);
    const logs = await host.inject({ method: 'GET', url: `/pods/${debugHash}/logs`, token: null });
    assert.equal(logs.statusCode, 200);
    assert.equal(logs.headers['content-type'], 'application/vnd.codius.raw-stream');
    assert.equal(logs.payload, 'web stdout hello\nweb stdout world\n');

    const refused = await host.inject({
      method: 'GET',
      url: `/pods/${hashManifest(plain)}/logs`,
      token: null,
    });
    assert.equal(refused.statusCode, 403);
    assert.equal(bodyOf(refused).message, `pod manifest does not allow debugging. id=${hashManifest(plain)}`);
    const unknown = 'b'.repeat(52);
    const missing = await host.inject({ method: 'GET', url: `/pods/${unknown}/logs`, token: null });
    assert.equal(missing.statusCode, 404);
    assert.equal(bodyOf(missing).message, `no pod found with this id. id=${unknown}`);

    host.runtime.lose(debugHash);
    const stopped = await host.inject({ method: 'GET', url: `/pods/${debugHash}/logs`, token: null });
    assert.equal(stopped.statusCode, 503);
    assert.equal(bodyOf(stopped).message, `pod has stopped. manifestHash=${debugHash}`);
  });
});

describe('client errors are never logged as failed requests', () => {
  it('logs 4xx answers as requests only', async () => {
    await host.inject({ method: 'POST', url: '/pods', payload: { manifest: { name: 'x' } } });
    assert.doesNotMatch(host.logs.text(), /request failed/);
  });
});
