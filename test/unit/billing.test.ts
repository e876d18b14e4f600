import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { CodiusError, isCodiusError } from '../../src/domain/errors.js';
import type { HostAsset } from '../../src/domain/types.js';
import { createBillingService, type PaymentCollector } from '../../src/payments/billing.js';
import { openStore } from '../../src/store/store.js';
import { answerOf } from '../helpers/errors.js';
import { capturingLogger } from '../helpers/logs.js';

const XRP: HostAsset = { code: 'XRP', scale: 9 };
const PRICE_600 = 2_283_106n;

const store = await openStore({ root: '', inMemory: true });
after(() => store.close());

let asset: HostAsset | null = XRP;
const logs = capturingLogger();
const billing = createBillingService({
  ledger: store.ledger,
  asset: () => asset,
  costPerMonth: () => '10',
  logger: logs.logger,
});

/** A payer that delivers up to `available` and records what it was asked for. */
function payer(available: bigint): PaymentCollector & { asked: bigint[]; token: Buffer } {
  const token = randomBytes(16);
  const asked: bigint[] = [];
  return {
    token,
    asked,
    collect(amount) {
      asked.push(amount);
      const received = available < amount ? available : amount;
      return Promise.resolve({ received, complete: received >= amount, payToken: token });
    },
  };
}

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
    const { result, payment } = await billing.charge(hash, 600, from, async (booking) => {
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
      billing.charge(hash, 600, payer(PRICE_600), () =>
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
      billing.charge(hash, 600, payer(PRICE_600), async (booking) => {
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
      billing.charge(hash, 600, payer(PRICE_600), async (booking) => {
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
      billing.charge(hash, 600, payer(1_000n), () => Promise.resolve('never')),
      (error: unknown) => isCodiusError(error, 'payment_timeout'),
    );
    assert.deepEqual(await linesOf(hash), [['shortfall', '1000', '1000']]);
    const from = payer(PRICE_600);
    const { payment } = await billing.charge(hash, 600, from, async (booking) => {
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
    const { payment } = await billing.charge(hash, 600, from, async (booking) => {
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
        billing.charge(hash, 600, payer(PRICE_600), async (booking) => {
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
    await billing.charge(hash, 600, payer(PRICE_600), () => Promise.resolve('served'));
    assert.deepEqual(await linesOf(hash), [['unserved', PRICE_600.toString(), PRICE_600.toString()]]);
    assert.match(logs.text(), /served without booking/);
  });

  it('passes handshake errors through without touching the ledger', async () => {
    const hash = hashOf();
    const challenging: PaymentCollector = {
      collect: () =>
        Promise.reject(new CodiusError('payment_required', { payHeader: 'interledger-stream x y' })),
    };
    await assert.rejects(
      billing.charge(hash, 600, challenging, () => Promise.resolve()),
      (error: unknown) => isCodiusError(error, 'payment_required'),
    );
    assert.deepEqual(await linesOf(hash), []);
  });

  it('refuses to book one payment as paid twice', async () => {
    const hash = hashOf();
    await assert.rejects(
      billing.charge(hash, 600, payer(PRICE_600), async (booking) => {
        await store.transaction(async (repos) => booking.paid(repos, 'upload'));
        await store.transaction(async (repos) => booking.paid(repos, 'extend'));
      }),
      /already booked/,
    );
    assert.deepEqual(await linesOf(hash), [['upload', PRICE_600.toString(), '0']]);
  });
});
