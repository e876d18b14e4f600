import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { CodiusError, isCodiusError } from '../../src/domain/errors.js';
import type { HostAsset } from '../../src/domain/types.js';
import { createBillingService, type PaymentAttempt } from '../../src/payments/billing.js';
import type { PaymentMethod } from '../../src/payments/methods/method.js';
import { openStore } from '../../src/store/store.js';
import { answerOf } from '../helpers/errors.js';
import { capturingLogger } from '../helpers/logs.js';

const XRP: HostAsset = { code: 'XRP', scale: 9 };
const PRICE_600 = 2_283_106n;

const store = await openStore({ root: '', inMemory: true });
after(() => store.close());

let asset: HostAsset | null = XRP;
const logs = capturingLogger();
/** Payments payers made, by pay token: what each can deliver, and what it was asked for. */
const payments = new Map<string, { available: bigint; asked: bigint[] }>();
/** A payment method whose payers deliver up to what they have. */
const method: PaymentMethod = {
  name: 'stream',
  asset: () => asset,
  costPerMonth: () => '10',
  recover: () => Promise.resolve(),
  claim(token) {
    const payment = payments.get(token.toString('hex'));
    payments.delete(token.toString('hex'));
    if (!payment || !asset) return Promise.resolve(undefined);
    return Promise.resolve({
      method: 'stream' as const,
      asset,
      collect(amount: bigint) {
        payment.asked.push(amount);
        const received = payment.available < amount ? payment.available : amount;
        return Promise.resolve({ received, complete: received >= amount, ref: null });
      },
      finish: () => undefined,
    });
  },
  offer: ({ token }) =>
    Promise.resolve({ headers: { Pay: `interledger-stream test.x ${token.toString('hex')}` } }),
};
const billing = createBillingService({ ledger: store.ledger, methods: [method], logger: logs.logger });

/** A request's payment side with a pay token (paid with `available`, or not paid at all). */
function payer(available: bigint | null): { asked: bigint[]; token: Buffer; attempt: PaymentAttempt } {
  const token = randomBytes(16);
  const asked: bigint[] = [];
  if (available !== null) payments.set(token.toString('hex'), { available, asked });
  const attempt: PaymentAttempt = {
    hasToken: () => true,
    token: () => token,
    client: 'test',
    afterResponse: () => undefined,
  };
  return { token, asked, attempt };
}

const charge = <T>(
  hash: string,
  seconds: number,
  from: { attempt: PaymentAttempt },
  serve: Parameters<typeof billing.charge<T>>[1],
) => billing.charge({ hash, durationSeconds: seconds, use: 'upload', attempt: from.attempt }, serve);

const hashOf = (): string => randomBytes(26).toString('hex').slice(0, 52);
const linesOf = async (hash: string) =>
  (await store.ledger.listForManifest(hash)).map((l) => [l.purpose, l.amount, l.credit]);

describe('billing: the money invariant', () => {
  it('prices exactly and says when payments are not possible', () => {
    assert.deepEqual(billing.price(600), { asset: XRP, amount: PRICE_600 });
    asset = null;
    try {
      assert.throws(
        () => billing.price(600),
        (error: unknown) => isCodiusError(error, 'payments_not_connected'),
      );
    } finally {
      asset = XRP;
    }
  });

  it('books the paid line inside the transaction that buys the time, with the pay token hashed', async () => {
    const hash = hashOf();
    const from = payer(PRICE_600 * 2n);
    const { result, payment } = await charge(hash, 600, from, async (booking) => {
      await store.transaction(async (repos) => booking.paid(repos, 'upload'));
      return 'served';
    });
    assert.equal(result, 'served');
    assert.deepEqual(from.asked, [PRICE_600]);
    assert.equal(payment.received, PRICE_600);
    assert.deepEqual(await linesOf(hash), [['upload', PRICE_600.toString(), '0']]);
    const [line] = await store.ledger.listForManifest(hash);
    assert.equal(line?.payTokenHash, createHash('sha256').update(from.token).digest('hex'));
  });

  it('keeps the payment as credit when serving fails before booking, and says how much', async () => {
    const hash = hashOf();
    await assert.rejects(
      charge(hash, 600, payer(PRICE_600), () =>
        Promise.reject(new CodiusError('pod_start_failed', { hash })),
      ),
      (error: unknown) => {
        assert.ok(isCodiusError(error, 'pod_start_failed'));
        assert.deepEqual(error.details.keptCredit, { amount: PRICE_600, assetCode: 'XRP', assetScale: 9 });
        assert.match(answerOf(error).message, /The 2283106 \(XRP, scale 9\) paid is kept as credit/);
        return true;
      },
    );
    assert.deepEqual(await linesOf(hash), [['unserved', PRICE_600.toString(), PRICE_600.toString()]]);
  });

  it('takes back a committed paid line inside the undoing transaction: all of it becomes credit', async () => {
    const hash = hashOf();
    await assert.rejects(
      charge(hash, 600, payer(PRICE_600), async (booking) => {
        await store.transaction(async (repos) => booking.paid(repos, 'upload'));
        await store.transaction(async (repos) => booking.unserved(repos));
        throw new CodiusError('pod_start_failed', { hash });
      }),
      (error: unknown) =>
        isCodiusError(error, 'pod_start_failed') && error.details.keptCredit?.amount === PRICE_600,
    );
    assert.deepEqual(await linesOf(hash), [
      ['upload', PRICE_600.toString(), '0'],
      ['unserved', '0', PRICE_600.toString()],
    ]);
  });

  it('treats a paid line whose transaction rolled back as never written', async () => {
    const hash = hashOf();
    await assert.rejects(
      charge(hash, 600, payer(PRICE_600), async (booking) => {
        await store.transaction(async (repos) => {
          await booking.paid(repos, 'upload');
          throw new Error('injected: the transaction fails after the line');
        });
      }),
      /injected/,
    );
    assert.deepEqual(await linesOf(hash), [['unserved', PRICE_600.toString(), PRICE_600.toString()]]);
  });

  it('books a short payment as credit and answers payment_timeout; the next charge spends it', async () => {
    const hash = hashOf();
    await assert.rejects(
      charge(hash, 600, payer(1_000n), () => Promise.resolve('never')),
      (error: unknown) => isCodiusError(error, 'payment_timeout'),
    );
    assert.deepEqual(await linesOf(hash), [['shortfall', '1000', '1000']]);
    const from = payer(PRICE_600);
    const { payment } = await charge(hash, 600, from, async (booking) => {
      await store.transaction(async (repos) => booking.paid(repos, 'upload'));
    });
    assert.deepEqual(from.asked, [PRICE_600 - 1_000n], 'only the rest is asked for');
    assert.equal(payment.creditUsed, 1_000n);
    assert.equal(await store.ledger.creditBalance(hash, XRP), 0n);
  });

  it('asks for nothing when credit covers the price', async () => {
    const hash = hashOf();
    await store.ledger.append({
      manifestHash: hash,
      amount: PRICE_600.toString(),
      credit: PRICE_600.toString(),
      assetCode: 'XRP',
      assetScale: 9,
      purpose: 'unserved',
      payTokenHash: null,
    });
    const from = payer(0n);
    const { payment } = await charge(hash, 600, from, async (booking) => {
      await store.transaction(async (repos) => booking.paid(repos, 'upload'));
    });
    assert.deepEqual(from.asked, []);
    assert.equal(payment.creditUsed, PRICE_600);
    assert.equal(await store.ledger.creditBalance(hash, XRP), 0n);
  });

  it('never lets two concurrent charges spend one credit twice', async () => {
    const hash = hashOf();
    await store.ledger.append({
      manifestHash: hash,
      amount: '500',
      credit: '500',
      assetCode: 'XRP',
      assetScale: 9,
      purpose: 'shortfall',
      payTokenHash: null,
    });
    const charges = await Promise.all(
      [0, 1].map(() =>
        charge(hash, 600, payer(PRICE_600), async (booking) => {
          await store.transaction(async (repos) => booking.paid(repos, 'upload'));
        }),
      ),
    );
    assert.equal(
      charges.reduce((sum, c) => sum + c.payment.creditUsed, 0n),
      500n,
    );
    assert.equal(await store.ledger.creditBalance(hash, XRP), 0n);
  });

  it('keeps as credit a payment that was served without a booking (a caller bug loses no money)', async () => {
    const hash = hashOf();
    await charge(hash, 600, payer(PRICE_600), () => Promise.resolve('served'));
    assert.deepEqual(await linesOf(hash), [['unserved', PRICE_600.toString(), PRICE_600.toString()]]);
    assert.match(logs.text(), /served without booking/);
  });

  it('offers each method to a payer that has not paid, without touching the ledger', async () => {
    const hash = hashOf();
    await assert.rejects(
      charge(hash, 600, payer(null), () => Promise.resolve()),
      (error: unknown) =>
        isCodiusError(error, 'payment_required') &&
        /^interledger-stream test\.x /.test(error.details.offers[0]?.headers?.Pay ?? ''),
    );
    assert.deepEqual(await linesOf(hash), []);
  });

  it('refuses to book one payment as paid twice', async () => {
    const hash = hashOf();
    await assert.rejects(
      charge(hash, 600, payer(PRICE_600), async (booking) => {
        await store.transaction(async (repos) => booking.paid(repos, 'upload'));
        await store.transaction(async (repos) => booking.paid(repos, 'extend'));
      }),
      /already booked/,
    );
    assert.deepEqual(await linesOf(hash), [['upload', PRICE_600.toString(), '0']]);
  });
});
