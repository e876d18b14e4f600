import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { HostAsset } from '../../src/domain/types.js';
import { recoverUnbookedPayments } from '../../src/payments/recovery.js';
import { openStore } from '../../src/store/store.js';
import { capturingLogger } from '../helpers/logs.js';

const XRP: HostAsset = { code: 'XRP', scale: 9 };
const HASH = 'a'.repeat(51) + 'q';
const store = await openStore({ root: '', inMemory: true });
after(() => store.close());

describe('payments in flight', () => {
  it('settles a payment once its ledger line books it, in the same write', async () => {
    const payment = { payTokenHash: 'token-b', manifestHash: HASH, asset: XRP };
    await store.paymentPackets.record(payment, 600n);
    await store.paymentPackets.record(payment, 400n);
    assert.deepEqual(await store.paymentPackets.unbooked(), [{ ...payment, amount: 1000n }]);
    await store.transaction(async (repos) => {
      await repos.ledger.append({
        manifestHash: HASH,
        amount: '1000',
        credit: '0',
        assetCode: 'XRP',
        assetScale: 9,
        purpose: 'upload',
        payTokenHash: 'token-b',
      });
    });
    assert.deepEqual(await store.paymentPackets.unbooked(), []);
    await assert.rejects(store.paymentPackets.record(payment, 0n), /positive/);
  });

  it('keeps what a stop interrupted as the manifest credit, exactly and once', async () => {
    const payment = { payTokenHash: 'token-a', manifestHash: HASH, asset: XRP };
    // More than 2^53 in total: summed exactly.
    await store.paymentPackets.record(payment, 9_007_199_254_740_993n);
    await store.paymentPackets.record(payment, 7n);
    const logs = capturingLogger();
    const recovered = await recoverUnbookedPayments(store, logs.logger);
    assert.deepEqual(recovered, [
      { manifestHash: HASH, assetCode: 'XRP', assetScale: 9, amount: 9_007_199_254_741_000n },
    ]);
    const lines = (await store.ledger.listForManifest(HASH)).filter((line) => line.purpose === 'recovered');
    assert.deepEqual(
      lines.map((line) => [line.amount, line.credit]),
      [['9007199254741000', '9007199254741000']],
    );
    assert.equal(await store.ledger.creditBalance(HASH, XRP), 9_007_199_254_741_000n);
    assert.match(logs.text(), /recovered a payment interrupted by a stop/);
    assert.deepEqual(await recoverUnbookedPayments(store, logs.logger), [], 'nothing twice');
  });

  it('only removes the rows of a payment whose line was written just before the stop', async () => {
    const payment = { payTokenHash: 'token-c', manifestHash: HASH, asset: XRP };
    await store.paymentPackets.record(payment, 50n);
    // The line went in, the process died before its rows were removed.
    await store.kv.set('x', 'y');
    await store.transaction(async (repos) => {
      await repos.ledger.append({
        manifestHash: HASH,
        amount: '50',
        credit: '50',
        assetCode: 'XRP',
        assetScale: 9,
        purpose: 'shortfall',
        payTokenHash: 'token-c',
      });
      await repos.paymentPackets.record(payment, 50n);
    });
    const before = await store.ledger.creditBalance(HASH, XRP);
    assert.deepEqual(await recoverUnbookedPayments(store, capturingLogger().logger), []);
    assert.equal(await store.ledger.creditBalance(HASH, XRP), before);
    assert.deepEqual(await store.paymentPackets.unbooked(), []);
  });
});
