import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Connection } from 'ilp-protocol-stream';
import type { FulfillmentGuard, IlpLink } from '../../src/ilp/link.js';
import { priceFor } from '../../src/payments/price.js';
import { createRentReceiver, RENT_TAG_PREFIX, secondsFor } from '../../src/payments/rent.js';
import { openStore } from '../../src/store/store.js';
import type { PodRecord } from '../../src/domain/types.js';
import { capturingLogger } from '../helpers/logs.js';

const HASH = 'b'.repeat(52);
const XRP = { code: 'XRP', scale: 9 };
const priceOf = (seconds: number): bigint => priceFor('10', 9, seconds);

/** A link whose packets a test sends by calling the rent guard; the pod's record and its extensions. */
async function setup(maxDurationSeconds = 3600) {
  const store = await openStore({ root: '', inMemory: true });
  let guard: FulfillmentGuard | undefined;
  let time = 1_000_000;
  const pod = { expiresAt: time + 600_000 } as PodRecord;
  const present = { pod: true };
  const extensions: number[] = [];
  const link: Pick<IlpLink, 'credentialsFor' | 'onConnection' | 'guardFulfillment' | 'asset'> = {
    credentialsFor: (tag) => ({ destinationAccount: `test.host.${tag}`, sharedSecret: Buffer.alloc(32, 7) }),
    onConnection: (_listener: (connection: Connection) => void, prefix?: string) =>
      assert.equal(prefix, RENT_TAG_PREFIX),
    guardFulfillment: (g, prefix) => {
      assert.equal(prefix, RENT_TAG_PREFIX);
      guard = g;
    },
    asset: () => XRP,
  };
  const rent = createRentReceiver({
    link,
    ledger: store.ledger,
    pods: { get: () => Promise.resolve(present.pod ? pod : undefined) },
    priceOf,
    extendWithCredit: async (hash, seconds) => {
      // What an extension paid by credit books: the price taken from the credit, the time added.
      const price = priceOf(seconds);
      await store.ledger.append({
        manifestHash: hash,
        amount: '0',
        credit: (-price).toString(),
        assetCode: 'XRP',
        assetScale: 9,
        purpose: 'extend',
        payTokenHash: null,
      });
      pod.expiresAt += seconds * 1000;
      extensions.push(seconds);
    },
    maxDurationSeconds,
    logger: capturingLogger().logger,
    now: () => time,
  });
  const pay = async (amount: bigint) => {
    assert.ok(guard);
    await guard(amount, `${RENT_TAG_PREFIX}${HASH}`);
    await rent.settled();
  };
  const credit = () => store.ledger.creditBalance(HASH, XRP);
  return { rent, pay, credit, extensions, pod, present, store, advance: (ms: number) => (time += ms) };
}

describe('rent', () => {
  it('finds the most whole seconds a credit pays for, within the room left', () => {
    assert.equal(secondsFor(priceOf(100), 3600, priceOf), 100);
    assert.equal(secondsFor(priceOf(100) - 1n, 3600, priceOf), 99);
    assert.equal(secondsFor(10n ** 12n, 3600, priceOf), 3600);
    assert.equal(secondsFor(5n, 3600, priceOf), 0);
    assert.equal(secondsFor(priceOf(10), -5, priceOf), 0);
  });

  it('buys exactly the seconds a payment pays for; what is left below a second counts towards the next', async () => {
    const { pay, credit, extensions, pod, store } = await setup();
    const before = pod.expiresAt;
    await pay(priceOf(100) + 1000n);
    assert.deepEqual(extensions, [100]);
    assert.equal(pod.expiresAt - before, 100_000);
    assert.equal(await credit(), 1000n, 'the rest stays credit');
    await pay(priceOf(1) - 1000n);
    assert.deepEqual(extensions, [100, 1], 'the rest and the next payment buy one second more');
    assert.equal(await credit(), 0n);
    const lines = await store.ledger.listForManifest(HASH);
    assert.deepEqual(
      lines.map((l) => [l.purpose, l.amount]),
      [
        ['rent', (priceOf(100) + 1000n).toString()],
        ['extend', '0'],
        ['rent', (priceOf(1) - 1000n).toString()],
        ['extend', '0'],
      ],
    );
  });

  it('never pays for a pod further ahead than the longest duration; the rest stays credit', async () => {
    const { pay, credit, extensions } = await setup(700);
    await pay(priceOf(500));
    assert.deepEqual(extensions, [100], '600 s were left of at most 700 ahead');
    assert.equal(await credit(), priceOf(500) - priceOf(100));
  });

  it('answers SPSP for a live pod only, and refuses money for one that is gone, booking nothing', async () => {
    const { rent, pay, present, store, advance } = await setup();
    assert.deepEqual(await rent.spsp(HASH), {
      destination_account: `test.host.${RENT_TAG_PREFIX}${HASH}`,
      shared_secret: Buffer.alloc(32, 7).toString('base64'),
      receipts_enabled: false,
    });
    advance(600_001);
    await assert.rejects(rent.spsp(HASH), { code: 'manifest_not_found' });
    await assert.rejects(pay(1000n), { code: 'manifest_not_found' });
    present.pod = false;
    await assert.rejects(pay(1000n), { code: 'manifest_not_found' });
    assert.deepEqual(await store.ledger.listForManifest(HASH), []);
  });
});
