import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PodRecord } from '../../src/domain/types.js';
import { MIGRATIONS, migrate, SchemaTooNewError } from '../../src/store/migrations.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { cachedUntilWrite, openStore, STORE_FILE, StoreLockedError } from '../../src/store/store.js';
import { tempDir } from '../helpers/tmp.js';

const HASH = 'rpxbd7xgjwmua5l3obxphu2ueqlngji3tay3go5jqyhb5v6inpsa';

function pod(overrides: Partial<PodRecord> = {}): PodRecord {
  return {
    hash: HASH,
    state: 'running',
    startedAt: 1000,
    expiresAt: 5000,
    memoryMiB: 512,
    totalUptimeSeconds: 4,
    port: 3000,
    ip: '10.89.0.2',
    ...overrides,
  };
}

describe('store', () => {
  it('migrates an empty file to the latest schema, in WAL mode, private to the owner', async () => {
    const root = await tempDir();
    const store = await openStore({ root, inMemory: false });
    await store.close();

    const db = await openDatabase(join(root, STORE_FILE));
    const version = await db.get<{ user_version: number }>('PRAGMA user_version');
    assert.equal(version?.user_version, MIGRATIONS.at(-1)?.version);
    const mode = await db.get<{ journal_mode: string }>('PRAGMA journal_mode');
    assert.equal(mode?.journal_mode, 'wal');
    const tables = await db.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    );
    assert.deepEqual(
      tables.map((t) => t.name),
      [
        'images',
        'kv',
        'ledger',
        'manifests',
        'open_payments',
        'payment_packets',
        'peers',
        'pod_accounts',
        'pods',
        'renewals',
      ],
    );
    await db.close();
    assert.equal((await stat(join(root, STORE_FILE))).mode & 0o777, 0o600);
  });

  it('keeps everything across a reopen', async () => {
    const root = await tempDir();
    const first = await openStore({ root, inMemory: false });
    await first.kv.set('asset', 'XRP');
    await first.manifests.put(HASH, { name: 'n', version: '1', containers: [] });
    await first.pods.save(pod());
    await first.peers.add('https://peer.example');
    await first.ledger.append({
      manifestHash: HASH,
      amount: '2283106',
      credit: '0',
      assetCode: 'XRP',
      assetScale: 9,
      purpose: 'upload',
      payTokenHash: 'ab'.repeat(32),
    });
    await first.close();

    const second = await openStore({ root, inMemory: false });
    assert.equal(await second.kv.get('asset'), 'XRP');
    assert.deepEqual(await second.manifests.get(HASH), { name: 'n', version: '1', containers: [] });
    assert.deepEqual(await second.pods.get(HASH), pod());
    assert.deepEqual(await second.peers.listUris(), ['https://peer.example']);
    const [entry] = await second.ledger.listForManifest(HASH);
    assert.equal(entry?.amount, '2283106');
    await second.close();
  });

  it('refuses a second opener of the same root while the first holds it, and not after', async () => {
    const root = await tempDir();
    const first = await openStore({ root, inMemory: false });
    await assert.rejects(openStore({ root, inMemory: false }), StoreLockedError);
    // The refused attempt changed nothing for the holder.
    await first.kv.set('still', 'works');
    assert.equal(await first.kv.get('still'), 'works');
    await first.close();
    const again = await openStore({ root, inMemory: false });
    assert.equal(await again.kv.get('still'), 'works');
    await again.close();
  });

  it('refuses a store written by a newer codiusd', async () => {
    const root = await tempDir();
    const db = await openDatabase(join(root, STORE_FILE));
    await db.exec('PRAGMA user_version = 999');
    await assert.rejects(migrate(db), SchemaTooNewError);
    await db.close();
    await assert.rejects(openStore({ root, inMemory: false }), /schema version 999/);
  });

  it('applies only the migrations a store is missing', async () => {
    const db = await openDatabase(':memory:');
    const next = (MIGRATIONS.at(-1)?.version ?? 0) + 1;
    const extra = [...MIGRATIONS, { version: next, name: 'test', sql: 'CREATE TABLE extra (x INTEGER)' }];
    assert.deepEqual(
      await migrate(db, MIGRATIONS),
      MIGRATIONS.map((m) => m.version),
    );
    assert.deepEqual(await migrate(db, extra), [next]);
    assert.deepEqual(await migrate(db, extra), []);
    await db.close();
  });

  it('rolls a failed migration back whole', async () => {
    const db = await openDatabase(':memory:');
    const broken = [
      { version: 1, name: 'broken', sql: 'CREATE TABLE a (x INTEGER); CREATE TABLE a (y INTEGER);' },
    ];
    await assert.rejects(migrate(db, broken));
    const version = await db.get<{ user_version: number }>('PRAGMA user_version');
    assert.equal(version?.user_version, 0);
    assert.equal((await db.all("SELECT name FROM sqlite_master WHERE name = 'a'")).length, 0);
    await db.close();
  });

  it('rolls back a failed transaction and keeps statements issued meanwhile out of it', async () => {
    const store = await openStore({ root: '', inMemory: true });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const failing = store.transaction(async (tx) => {
      await tx.pods.save(pod());
      await tx.manifests.put(HASH, { name: 'x' });
      await gate;
      throw new Error('boom');
    });
    // Issued while the transaction is open: must not be rolled back with it.
    const outside = store.kv.set('outside', 'kept');
    release();
    await assert.rejects(failing, /boom/);
    await outside;
    assert.equal(await store.pods.get(HASH), undefined);
    assert.equal(await store.manifests.get(HASH), undefined);
    assert.equal(await store.kv.get('outside'), 'kept');

    await store.transaction(async (tx) => {
      await tx.pods.save(pod());
      await tx.manifests.put(HASH, { name: 'x' });
    });
    assert.ok(await store.pods.get(HASH));
    await store.close();
  });

  it('summarises pod usage and finds the next pod to expire', async () => {
    const store = await openStore({ root: '', inMemory: true });
    assert.deepEqual(await store.pods.usage(), { runningCount: 0, reservedMemoryMiB: 0 });
    await store.pods.save(pod({ hash: 'a'.repeat(52), expiresAt: 9000 }));
    await store.pods.save(pod({ hash: 'b'.repeat(52), expiresAt: 3000, state: 'terminating' }));
    assert.deepEqual(await store.pods.usage(), { runningCount: 1, reservedMemoryMiB: 1024 });
    // A terminating pod has expired already: the expiry timer looks past it.
    assert.equal((await store.pods.nextToExpire())?.hash, 'a'.repeat(52));
    assert.deepEqual(
      (await store.pods.listDue(9000)).map((p) => p.hash),
      ['a'.repeat(52)],
    );
    assert.deepEqual(await store.pods.listDue(8999), []);
    assert.deepEqual(
      (await store.pods.listInState('terminating')).map((p) => p.hash),
      ['b'.repeat(52)],
    );
    assert.equal(await store.pods.delete('b'.repeat(52)), true);
    assert.equal(await store.pods.delete('b'.repeat(52)), false);
    await store.close();
  });

  it('sums ledger amounts and credit exactly per asset, beyond 2^53', async () => {
    const store = await openStore({ root: '', inMemory: true });
    const base = { manifestHash: HASH, purpose: 'upload' as const, payTokenHash: null, credit: '0' };
    const xrp9 = { assetCode: 'XRP', assetScale: 9 };
    await store.ledger.append({ ...base, ...xrp9, amount: '9007199254740993' });
    await store.ledger.append({ ...base, ...xrp9, amount: '9007199254740993' });
    await store.ledger.append({ ...base, amount: '5', assetCode: 'XRP', assetScale: 6 });
    // 7 arrived short of a price: it is credit, then an upload spends 4 of it.
    await store.ledger.append({ ...base, ...xrp9, purpose: 'shortfall', amount: '7', credit: '7' });
    await store.ledger.append({ ...base, ...xrp9, amount: '10', credit: '-4' });
    await store.ledger.append({ ...base, ...xrp9, manifestHash: 'b'.repeat(52), amount: '1', credit: '1' });
    for (const bad of [{ amount: '1.5' }, { amount: '-1' }, { amount: '1', credit: 'x' }]) {
      await assert.rejects(store.ledger.append({ ...base, ...xrp9, ...bad }), TypeError);
    }
    assert.equal(await store.ledger.creditBalance(HASH, { code: 'XRP', scale: 9 }), 3n);
    assert.equal(await store.ledger.creditBalance(HASH, { code: 'XRP', scale: 6 }), 0n);
    assert.deepEqual(await store.ledger.accounts(), [
      {
        assetCode: 'XRP',
        assetScale: 9,
        received: 18014398509482004n,
        outstandingCredit: 4n,
        earned: 18014398509482000n,
      },
      { assetCode: 'XRP', assetScale: 6, received: 5n, outstandingCredit: 0n, earned: 5n },
    ]);
    await store.close();
  });

  it('tracks peers in insertion order with failure counts', async () => {
    const store = await openStore({ root: '', inMemory: true });
    assert.equal(await store.peers.add('https://b.example'), true);
    assert.equal(await store.peers.add('https://a.example'), true);
    assert.equal(await store.peers.add('https://b.example'), false);
    assert.deepEqual(await store.peers.listUris(), ['https://b.example', 'https://a.example']);
    assert.deepEqual(await store.peers.listUris(1), ['https://b.example']);
    assert.equal(await store.peers.count(), 2);
    assert.equal(await store.peers.recordFailure('https://a.example'), 1);
    assert.equal(await store.peers.recordFailure('https://a.example'), 2);
    await store.peers.recordSuccess('https://a.example');
    assert.equal((await store.peers.get('https://a.example'))?.consecutiveFailures, 0);
    assert.equal(await store.peers.remove('https://a.example'), true);
    assert.equal(await store.peers.count(), 1);
    await store.close();
  });

  it('caches reads until the next write, sharing one read between concurrent callers', async () => {
    const store = await openStore({ root: '', inMemory: true });
    let reads = 0;
    const peerCount = cachedUntilWrite(store, () => {
      reads++;
      return store.peers.count();
    });
    assert.deepEqual(await Promise.all([peerCount(), peerCount()]), [0, 0]);
    assert.equal(await peerCount(), 0);
    assert.equal(reads, 1);

    await store.peers.add('https://one.example');
    assert.equal(await peerCount(), 1, 'a write invalidates');
    await store.transaction((tx) => tx.peers.add('https://two.example'));
    assert.equal(await peerCount(), 2, 'a transaction invalidates');
    assert.equal(reads, 3);

    let fail = true;
    const flaky = cachedUntilWrite(store, () =>
      fail ? Promise.reject(new Error('io')) : store.peers.count(),
    );
    await assert.rejects(flaky(), /io/);
    fail = false;
    assert.equal(await flaky(), 2, 'a failed read is not cached');
    await store.close();
  });
});
