import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { openApiHost, webManifest } from '../helpers/api-host.js';

const host = await openApiHost();
after(() => host.server.stop());

/** 503s that are answers, not failures: their messages are the error table's. */
const DELIBERATE_503 =
  /^(Memory usage exceeded|This host cannot|pod could not be started|no pod|Too many payments)/;

function assertNoFailure(status: number, payload: string, what: unknown): void {
  if (status < 500) return;
  const message = (JSON.parse(payload) as { message?: string }).message ?? '';
  assert.ok(
    status === 503 && DELIBERATE_503.test(message),
    `${status} ${payload} for ${JSON.stringify(what)}`,
  );
}

// Manifests near the real shape, with every field open to odd values.
const oddString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '$X', '../..', '\u0000'),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const manifestish = fc.record(
  {
    name: fc.oneof(oddString, anyJson),
    version: fc.oneof(oddString, anyJson),
    machine: fc.oneof(fc.constantFrom('small', 'medium', 'large', 'huge'), anyJson),
    port: fc.oneof(fc.constantFrom('3000', '0', '-1', '65536', 'http'), anyJson),
    containers: fc.oneof(
      fc.array(
        fc.record(
          {
            id: fc.oneof(oddString, anyJson),
            image: fc.oneof(fc.constantFrom(webManifest().containers[0]?.image ?? ''), oddString, anyJson),
            command: fc.oneof(fc.array(oddString), anyJson),
            environment: fc.oneof(fc.dictionary(oddString, oddString), anyJson),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 12 },
      ),
      anyJson,
    ),
    vars: fc.oneof(fc.dictionary(oddString, fc.record({ value: oddString, encoding: oddString })), anyJson),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.record(
    { manifest: manifestish, private: fc.oneof(anyJson, fc.dictionary(oddString, anyJson)) },
    { requiredKeys: [] },
  ),
  anyJson,
  fc.string().map((text) => ({ raw: text })),
);
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '?duration=60',
    '?duration=-1',
    '?duration=1e9',
    '?duration=abc',
    '?duration=60&duration=61',
  ),
  fc.string().map((text) => `?${encodeURIComponent(text)}=${encodeURIComponent(text)}`),
);
const headers = fc.record(
  {
    'pay-token': fc.oneof(fc.string({ maxLength: 80 }), fc.base64String({ maxLength: 40 })),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''),
    'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 40 })),
    accept: fc.string({ maxLength: 40 }),
  },
  { requiredKeys: [] },
);

/** A body as sent: raw text for the `{raw}` cases, JSON for everything else. */
function payloadText(payload: unknown): string {
  if (typeof payload === 'object' && payload !== null && 'raw' in payload) return String(payload.raw);
  return JSON.stringify(payload);
}

// What requests leave behind is read from the heap after a full collection: the resident size also
// counts memory V8 and the allocator keep for reuse, which differs between Node.js lines.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const retainedHeap = (): number => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

describe('fuzzed requests', () => {
  it('10,000 fuzzed manifests, bodies, queries and headers: no 5xx but deliberate 503s, bounded memory', async (t) => {
    const heapBefore = retainedHeap();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'OPTIONS', 'PUT', 'GET'),
        body,
        query,
        headers,
        async (method, payload, search, extra) => {
          runs += 1;
          const contentType = extra['content-type'];
          const response = await host.server.inject({
            method,
            url: `/pods${search}`,
            headers: { ...extra, 'content-type': contentType || 'application/json' },
            ...(method === 'GET' ? {} : { payload: payloadText(payload) }),
          });
          assertNoFailure(response.statusCode, response.payload, { method, search, payload, extra });
        },
      ),
      { numRuns: 10_000, seed: 20261201 },
    );
    assert.equal(runs, 10_000);
    const grownMiB = (retainedHeap() - heapBefore) / 2 ** 20;
    t.diagnostic(`the heap kept ${grownMiB.toFixed(1)} MiB more after 10,000 fuzzed requests`);
    // A leak of a few KiB per request would keep tens of MiB.
    assert.ok(grownMiB < 24, `the heap kept ${grownMiB.toFixed(0)} MiB more after 10,000 requests`);
    assert.ok(host.receiver.stats().pending <= 10_000, 'the pending table stays bounded');
  });
});
