// A host with many pods: it serves at once and recovers lost pods in the background, a few at a time;
// its logs stay bounded; its pod figures are kept exact without scanning the store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ManifestHash, PodPlan, PodRecord } from '../../src/domain/types.js';
import { buildPodPlan } from '../../src/manifest/plan.js';
import { createPassLog } from '../../src/pods/pass-log.js';
import { createPodDirectory, type PodDirectory } from '../../src/pods/pod-directory.js';
import { createPodManager, type PodManager } from '../../src/pods/pod-manager.js';
import { createPodRecords } from '../../src/pods/pod-records.js';
import type { Logger } from '../../src/logger.js';
import type { PodRuntime } from '../../src/runtime/driver.js';
import { RECONCILE_CONCURRENCY } from '../../src/pods/reconciler.js';
import { createPrivateVarsCipher } from '../../src/pods/private-vars.js';
import { openStore, type Store } from '../../src/store/store.js';
import { eachLimited } from '../../src/util/each-limited.js';
import { createFakeRuntime } from '../fakes/runtime.js';
import { capturingLogger } from '../helpers/logs.js';
import { until } from '../helpers/wait.js';

const PUBLIC_URI = 'https://codius.example.com';
const hostSecret = randomBytes(32);

/** Writes `count` paid pods into the store as a codiusd that ran them would have left them. */
async function seed(store: Store, count: number, expiresInMs = 600_000): Promise<ManifestHash[]> {
  const hashes: ManifestHash[] = [];
  const at = Date.now();
  for (let i = 0; i < count; i += 1) {
    const manifest = {
      name: `scale-${i}-${randomBytes(4).toString('hex')}`,
      version: '1.0.0',
      port: '3000',
      containers: [{ id: 'web', image: 'registry.example/web@sha256:' + 'a'.repeat(64) }],
    };
    const plan = buildPodPlan({ manifest }, { publicUri: PUBLIC_URI });
    await store.manifests.put(plan.hash, manifest);
    await store.pods.save({
      hash: plan.hash,
      state: 'running',
      startedAt: at,
      expiresAt: at + expiresInMs,
      memoryMiB: plan.resources.memoryMiB,
      totalUptimeSeconds: 600,
      port: plan.port,
      ip: '10.0.0.9',
    });
    hashes.push(plan.hash);
  }
  return hashes;
}

/** A pod manager over `store` and `runtime` as the daemon makes one, passes an hour apart after the first. */
function managerOf(
  store: Store,
  runtime: PodRuntime,
  options: { directory?: PodDirectory; logger?: Logger } = {},
): PodManager {
  return createPodManager({
    store,
    directory: options.directory ?? createPodDirectory(),
    runtime,
    cipher: createPrivateVarsCipher(hostSecret),
    logger: options.logger ?? capturingLogger().logger,
    publicUri: PUBLIC_URI,
    reconcileIntervalMs: 3_600_000,
  });
}

describe('a restart with many lost pods', () => {
  it('serves at once, takes uploads during the first pass, and recreates a few pods at a time', async () => {
    const store = await openStore({ root: '', inMemory: true });
    const hashes = await seed(store, 30);
    const runtime = createFakeRuntime();
    let inFlight = 0;
    let mostAtOnce = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowStarts = {
      ...runtime,
      async runPod(plan: PodPlan) {
        inFlight += 1;
        mostAtOnce = Math.max(mostAtOnce, inFlight);
        await gate;
        inFlight -= 1;
        return runtime.runPod(plan);
      },
    };
    const directory = createPodDirectory();
    const logs = capturingLogger();
    const manager = managerOf(store, slowStarts, { directory, logger: logs.logger });
    await manager.start();
    manager.startReconciling();
    try {
      assert.equal(directory.loaded(), false, 'the records are loaded once the host serves, not before');
      await directory.whenLoaded();
      assert.equal(directory.size(), 30, 'every recorded pod is in the directory once it is loaded');
      await until(
        'the first pass starts as many pods as it may at once',
        () => inFlight === RECONCILE_CONCURRENCY,
        5_000,
        5,
      );
      assert.equal(manager.firstPassDone(), false);
      assert.equal(manager.ready(), true, 'the runtime answers: new pods may start during the pass');
      release();
      await manager.reconcile();
      assert.equal(manager.firstPassDone(), true);
      assert.equal(mostAtOnce, RECONCILE_CONCURRENCY);
      for (const hash of hashes) assert.equal(runtime.pods.get(hash)?.running, true);
      const lost = logs.lines().filter((line) => line.msg === 'paid pod is not running; recreating it');
      assert.equal(lost.length, 10, 'a sample of the lost pods is logged one by one');
      const summary = logs.lines().find((line) => line.msg === 'reconciled pods with the runtime') ?? {};
      assert.equal(summary.recreated, 30);
      assert.equal(summary.notLoggedOneByOne, 20);
    } finally {
      release();
      await manager.stop();
    }
  });

  it('lets pods whose time is up go first: the pass takes no pod while a removal is under way', async () => {
    const store = await openStore({ root: '', inMemory: true });
    const [expired] = await seed(store, 1, -1);
    const lost = await seed(store, 20);
    const runtime = createFakeRuntime();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let deleting = false;
    let starts = 0;
    const manager = managerOf(store, {
      ...runtime,
      async runPod(plan: PodPlan) {
        starts += 1;
        return runtime.runPod(plan);
      },
      async deletePod(hash: ManifestHash) {
        deleting = true;
        await gate;
        return runtime.deletePod(hash);
      },
    });
    try {
      await manager.start();
      await until('the expired pod is being removed', () => deleting, 5_000, 5);
      manager.startReconciling();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(starts, 0, 'no lost pod is recreated while the expired one is being removed');
      release();
      await until('the first pass', () => manager.firstPassDone(), 5_000, 5);
      assert.equal(starts, lost.length);
      assert.equal(await store.pods.get(expired ?? ''), undefined);
    } finally {
      release();
      await manager.stop();
    }
  });

  it('takes no further pod once stopped during the first pass', async () => {
    const store = await openStore({ root: '', inMemory: true });
    await seed(store, 20);
    const runtime = createFakeRuntime();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let starts = 0;
    const manager = managerOf(store, {
      ...runtime,
      async runPod(plan: PodPlan) {
        starts += 1;
        await gate;
        return runtime.runPod(plan);
      },
    });
    await manager.start();
    manager.startReconciling();
    await until('the first pass starts pods', () => starts === RECONCILE_CONCURRENCY, 5_000, 5);
    const stopped = manager.stop();
    release();
    await stopped;
    assert.equal(starts, RECONCILE_CONCURRENCY);
    assert.equal(manager.firstPassDone(), false, 'a pass cut short is not a first pass');
  });
});

describe('the log of a reconcile pass', () => {
  it('names a bounded sample one by one and ends with counts', () => {
    const logs = capturingLogger();
    const log = createPassLog(logs.logger, 10);
    const hash = (i: number): ManifestHash => `h${i}`.padEnd(52, 'a');
    for (let i = 0; i < 1_000; i += 1) log.lost(hash(i), 'missing');
    for (let i = 0; i < 3; i += 1) log.failed(hash(i), new Error('refused'));
    log.finish({ recreated: 997, failed: 3, removedOrphans: 0 });
    const lines = logs.lines();
    assert.equal(lines.length, 10 + 3 + 1);
    const summary = lines.at(-1) ?? {};
    assert.equal(summary.msg, 'reconciled pods with the runtime');
    assert.deepEqual([summary.recreated, summary.failed, summary.notLoggedOneByOne], [997, 3, 990]);
    assert.equal((summary.sample as { lost: string[] }).lost.length, 10);
    assert.ok(logs.text().length < 10_000, 'a thousand lost pods make a few lines');
  });

  it('logs nothing when the pass found nothing to do', () => {
    const logs = capturingLogger();
    createPassLog(logs.logger).finish({ recreated: 0, failed: 0, removedOrphans: 0 });
    assert.equal(logs.text(), '');
  });
});

describe('pod figures', () => {
  const record = (hash: string, state: PodRecord['state'], memoryMiB: number): PodRecord => ({
    hash: hash.padEnd(52, 'b'),
    state,
    startedAt: 1,
    expiresAt: 2,
    memoryMiB,
    totalUptimeSeconds: 1,
    port: null,
    ip: null,
  });

  it('are kept exact by the directory at every change, as the store counts them', async () => {
    const store = await openStore({ root: '', inMemory: true });
    const directory = createPodDirectory();
    const both = async (change: (r: PodRecord) => void, r: PodRecord): Promise<void> => {
      await store.pods.save(r);
      change(r);
      assert.deepEqual(directory.usage(), await store.pods.usage());
    };
    directory.markLoaded();
    await both((r) => directory.put(r), record('a', 'starting', 512));
    await both((r) => directory.put(r), record('a', 'running', 512));
    await both((r) => directory.put(r), record('b', 'running', 256));
    await both((r) => directory.put(r), record('b', 'terminating', 256));
    await store.pods.delete(record('b', 'running', 0).hash);
    directory.remove(record('b', 'running', 0).hash);
    directory.remove(record('c', 'running', 0).hash);
    assert.deepEqual(directory.usage(), await store.pods.usage());
    assert.deepEqual(directory.countByState(), { starting: 0, running: 1, terminating: 0 });
    await store.close();
  });

  it('are loaded page by page; a write made during the load wins over any page, and no page after it', async () => {
    const directory = createPodDirectory();
    let settled = false;
    void directory.whenLoaded().then(() => (settled = true));
    directory.fill([record('a', 'running', 100), record('b', 'running', 100)]);
    // Written while the load runs: a new pod, a removed one and a changed one.
    directory.put(record('c', 'starting', 50));
    directory.remove(record('d', 'running', 0).hash);
    directory.put(record('e', 'terminating', 10));
    // A page read before those writes committed.
    directory.fill([record('c', 'running', 50), record('d', 'running', 20), record('e', 'running', 10)]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual([directory.loaded(), settled], [false, false]);
    directory.markLoaded();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual([directory.loaded(), settled], [true, true]);
    assert.deepEqual(directory.countByState(), { starting: 1, running: 2, terminating: 1 });
    assert.deepEqual(directory.usage(), { runningCount: 2, reservedMemoryMiB: 260 });
    assert.equal(directory.get(record('d', 'running', 0).hash), undefined);
    directory.fill([record('z', 'running', 1)]);
    assert.equal(directory.get(record('z', 'running', 1).hash), undefined);
  });

  it('are loaded from the store in pages of every stored pod, after a start that did not wait for them', async () => {
    const store = await openStore({ root: '', inMemory: true });
    const stored = Array.from({ length: 4_321 }, (_, i) => record(`p${String(i)}`, 'running', 1));
    await store.transaction(async (repos) => {
      for (const r of stored) await repos.pods.save(r);
    });
    const directory = createPodDirectory();
    await createPodRecords(store, directory).loadDirectory();
    assert.equal(directory.loaded(), true);
    assert.equal(directory.size(), stored.length);
    assert.deepEqual(directory.usage(), await store.pods.usage());
    await store.close();
  });
});

describe('eachLimited', () => {
  it('keeps at most `limit` calls in flight, takes items in order, and stops taking when told', async () => {
    const order: number[] = [];
    let inFlight = 0;
    let most = 0;
    await eachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      order.push(item);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
    });
    assert.deepEqual([order, most], [[1, 2, 3, 4, 5, 6, 7], 3]);
    const taken: number[] = [];
    await eachLimited(
      [1, 2, 3, 4],
      1,
      (item) => Promise.resolve(taken.push(item)),
      () => taken.length < 2,
    );
    assert.deepEqual(taken, [1, 2]);
  });

  it('finishes the rest when one call fails, then throws its error', async () => {
    const done: number[] = [];
    await assert.rejects(
      eachLimited([1, 2, 3], 2, (item) => {
        if (item === 1) return Promise.reject(new Error('first failed'));
        done.push(item);
        return Promise.resolve();
      }),
      /first failed/,
    );
    assert.deepEqual(done, [2, 3]);
  });
});
