import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { isCodiusError } from '../../src/domain/errors.js';
import type { EnvVar, PodRequest } from '../../src/domain/types.js';
import { hashPrivateVar } from '../../src/manifest/hash.js';
import { buildPodPlan } from '../../src/manifest/plan.js';
import type { PodRemovedEvent, PodStartedEvent } from '../../src/pods/pod-hooks.js';
import { createPodDirectory, type PodDirectory } from '../../src/pods/pod-directory.js';
import { createPodManager, type PodManager } from '../../src/pods/pod-manager.js';
import { createPrivateVarsCipher } from '../../src/pods/private-vars.js';
import { openStore, type Store } from '../../src/store/store.js';
import { createFakeRuntime, type FakeRuntime } from '../fakes/runtime.js';
import { capturingLogger } from '../helpers/logs.js';
import { until } from '../helpers/wait.js';

const PUBLIC_URI = 'https://codius.example.com';
const hostSecret = randomBytes(32);

interface Host {
  store: Store;
  manager: PodManager;
  runtime: FakeRuntime;
  directory: PodDirectory;
  logs: ReturnType<typeof capturingLogger>;
  started: PodStartedEvent[];
  removed: PodRemovedEvent[];
}

async function openHost(
  options: { store?: Store; runtime?: FakeRuntime; hostEnvironment?: (hash: string) => EnvVar[] } = {},
): Promise<Host> {
  const store = options.store ?? (await openStore({ root: '', inMemory: true }));
  const runtime = options.runtime ?? createFakeRuntime();
  const directory = createPodDirectory();
  const logs = capturingLogger();
  const manager = createPodManager({
    store,
    directory,
    runtime,
    cipher: createPrivateVarsCipher(hostSecret),
    logger: logs.logger,
    publicUri: PUBLIC_URI,
    reconcileIntervalMs: 3_600_000,
    reconcileRetryMs: 100,
    ...(options.hostEnvironment ? { hostEnvironment: options.hostEnvironment } : {}),
  });
  const started: PodStartedEvent[] = [];
  const removed: PodRemovedEvent[] = [];
  manager.onPodStarted((event) => {
    started.push(event);
  });
  manager.onPodRemoved((event) => {
    removed.push(event);
  });
  await manager.start();
  manager.startReconciling();
  // The first reconcile pass runs in the background; these tests start from its outcome.
  await manager.reconcile().catch(() => undefined);
  after(() => manager.stop());
  return { store, manager, runtime, directory, logs, started, removed };
}

function request(extra: Partial<PodRequest['manifest']> = {}): PodRequest {
  return {
    manifest: {
      name: `unit-${randomBytes(4).toString('hex')}`,
      version: '1.0.0',
      port: '3000',
      containers: [{ id: 'web', image: 'registry.example/web@sha256:' + 'a'.repeat(64) }],
      ...extra,
    },
  };
}

describe('pod manager over the in-memory runtime', () => {
  it('runs one pod for concurrent uploads of one manifest, counts them all, mirrors the store', async () => {
    const host = await openHost();
    const upload = request();
    const results = await Promise.all([1, 2, 3].map(() => host.manager.run(upload, 600)));
    const hash = results[0]?.hash ?? '';
    assert.equal(host.runtime.calls.filter((c) => c === `runPod ${hash}`).length, 1);
    const record = await host.manager.get(hash);
    assert.equal(record?.state, 'running');
    assert.equal(record.totalUptimeSeconds, 1800);
    assert.deepEqual(host.directory.get(hash), await host.store.pods.get(hash));
    assert.equal(host.started.length, 1);
    assert.equal(host.started[0]?.recreated, false);
    assert.equal(host.started[0].plan.hash, hash);
  });

  it('removes an expired pod: runtime pod, record, manifest, directory; the removed hook fires', async () => {
    const host = await openHost();
    const pod = await host.manager.run(request(), 1);
    await until('removal', async () => (await host.store.pods.get(pod.hash)) === undefined);
    assert.equal(host.runtime.pods.has(pod.hash), false);
    assert.equal(await host.store.manifests.get(pod.hash), undefined);
    assert.equal(host.directory.get(pod.hash), undefined);
    assert.deepEqual(
      host.removed.map((e) => [e.hash, e.record.state]),
      [[pod.hash, 'terminating']],
    );
  });

  it('keeps a pod terminating until the runtime confirms its deletion, retrying with backoff', async () => {
    const host = await openHost();
    host.runtime.failDeletes(2);
    const pod = await host.manager.run(request(), 1);
    await until('terminating', async () => (await host.store.pods.get(pod.hash))?.state === 'terminating');
    assert.equal(host.runtime.pods.get(pod.hash)?.running, true, 'still running, so still known');
    await until('removal after two retries', async () => (await host.store.pods.get(pod.hash)) === undefined);
    assert.equal(
      host.runtime.calls.filter((c) => c === `deletePod ${pod.hash}`).length,
      3,
      'two refusals, then done',
    );
    assert.match(host.logs.text(), /pod removal failed; retrying/);
  });

  it('recreates a paid pod the runtime lost, with its private vars, keeping its paid time', async () => {
    const host = await openHost();
    const privateVar = { nonce: 'n-1', value: 'the private value' };
    const upload: PodRequest = {
      ...request({ vars: { SECRET: { value: hashPrivateVar(privateVar), encoding: 'private:sha256' } } }),
      private: { vars: { SECRET: privateVar } },
    };
    upload.manifest.containers[0] = {
      id: 'web',
      image: 'registry.example/img@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      environment: { TOKEN: '$SECRET' },
    };
    const pod = await host.manager.run(upload, 600);
    const sealed = await host.store.manifests.getSealedPrivateVars(pod.hash);
    assert.ok(sealed && !sealed.includes('the private value'), 'sealed at rest');

    host.runtime.lose(pod.hash);
    const report = await host.manager.reconcile();
    assert.deepEqual(report.recreated, [pod.hash]);
    const recreated = host.runtime.pods.get(pod.hash);
    const token = recreated?.plan.containers[0]?.env.find((v) => v.name === 'TOKEN');
    assert.deepEqual(token, { name: 'TOKEN', value: 'the private value', secret: true });
    assert.equal((await host.manager.get(pod.hash))?.expiresAt, pod.expiresAt);
    assert.equal(host.started.at(-1)?.recreated, true);
  });

  it('recreates a pod whose containers stopped, and deletes pods of this host nobody pays for', async () => {
    const host = await openHost();
    const pod = await host.manager.run(request(), 600);
    host.runtime.stop(pod.hash);
    const orphan = buildPodPlan(request(), { publicUri: PUBLIC_URI });
    host.runtime.plant(orphan);
    const report = await host.manager.reconcile();
    assert.deepEqual(report, { recreated: [pod.hash], failed: [], removedOrphans: [orphan.hash] });
    assert.equal(host.runtime.pods.get(pod.hash)?.running, true);
    assert.equal(host.runtime.pods.has(orphan.hash), false);
    assert.deepEqual(await host.manager.reconcile(), { recreated: [], failed: [], removedOrphans: [] });
  });

  it('backs off recreating a pod that keeps crashing after it started', async () => {
    const host = await openHost();
    const pod = await host.manager.run(request(), 3600);
    for (let crash = 1; crash <= 3; crash += 1) {
      host.runtime.stop(pod.hash);
      assert.deepEqual((await host.manager.reconcile()).recreated, [pod.hash], `crash ${crash} is repaired`);
    }
    host.runtime.stop(pod.hash);
    const report = await host.manager.reconcile();
    assert.deepEqual(report.recreated, [], 'the fourth crash waits for the cool-down');
    assert.equal(host.runtime.pods.get(pod.hash)?.running, false);
    assert.throws(() => host.manager.checkStart(pod.hash), /cooling|repeatedly/i);
  });

  it('leaves nothing of a pod that cannot start', async () => {
    const host = await openHost();
    host.runtime.availableImages = new Set();
    await assert.rejects(host.manager.run(request(), 600), (error: unknown) =>
      isCodiusError(error, 'image_unavailable'),
    );
    host.runtime.availableImages = null;
    host.runtime.failNextStart();
    await assert.rejects(host.manager.run(request(), 600), (error: unknown) =>
      isCodiusError(error, 'pod_start_failed'),
    );
    assert.deepEqual(await host.store.pods.list(), []);
    assert.equal(host.directory.size(), 0);
    assert.equal(host.runtime.pods.size, 0);
    assert.equal(host.started.length, 0);
  });

  it('removes the pod a start left when the runtime died half-way, once the runtime answers again', async () => {
    const host = await openHost();
    host.runtime.dieDuringNextStart();
    await assert.rejects(host.manager.run(request(), 600), (error: unknown) =>
      isCodiusError(error, 'pod_start_failed'),
    );
    assert.equal(host.runtime.pods.size, 1, 'the half-made pod is still there');
    assert.deepEqual(await host.store.pods.list(), []);
    host.runtime.down = false;
    // The outage brought the reconcile passes back to their quick cadence: the next one removes the pod.
    await until('the half-made pod is removed', () => host.runtime.pods.size === 0, 10_000);
    assert.match(host.logs.text(), /removed a pod of this host that nobody pays for/);
  });

  it('extends a live pod and answers null for an unknown one', async () => {
    const host = await openHost();
    const pod = await host.manager.run(request(), 60);
    const extended = await host.manager.extend(pod.hash, 60);
    assert.equal(extended?.expiresAt, pod.expiresAt + 60_000);
    assert.equal(await host.manager.extend('a'.repeat(52), 60), null);
  });

  it('gives every container the host environment; a manifest setting the same name keeps its value', async () => {
    const host = await openHost({
      hostEnvironment: (hash) => [
        { name: 'ILP_PLUGIN', value: 'ilp-plugin-btp', secret: false },
        { name: 'POD_OF', value: hash, secret: false },
      ],
    });
    const upload = request({
      containers: [
        {
          id: 'a',
          image:
            'registry.example/img@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        },
        {
          id: 'b',
          image:
            'registry.example/img@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
          environment: { ILP_PLUGIN: 'my-own-plugin' },
        },
      ],
    });
    const pod = await host.manager.run(upload, 60);
    const containers = host.runtime.pods.get(pod.hash)?.plan.containers ?? [];
    const envOf = (i: number) => Object.fromEntries((containers[i]?.env ?? []).map((v) => [v.name, v.value]));
    assert.equal(envOf(0).ILP_PLUGIN, 'ilp-plugin-btp');
    assert.equal(envOf(0).POD_OF, pod.hash);
    assert.equal(envOf(1).ILP_PLUGIN, 'my-own-plugin');
    assert.equal(containers[1]?.env.filter((v) => v.name === 'ILP_PLUGIN').length, 1);
    assert.deepEqual(
      containers[0]?.env.slice(0, 4).map((v) => v.name),
      ['CODIUS', 'CODIUS_HOST', 'CODIUS_MANIFEST_HASH', 'CODIUS_MANIFEST'],
      'the CODIUS variables stay first',
    );
  });

  it('is not ready while the runtime is down, and becomes ready once it answers', async () => {
    const runtime = createFakeRuntime();
    runtime.down = true;
    const host = await openHost({ runtime });
    assert.equal(host.manager.ready(), false);
    assert.match(host.logs.text(), /container runtime not ready/);
    runtime.down = false;
    await host.manager.reconcile();
    assert.equal(host.manager.ready(), true);
  });

  it('recovers paid pods after a restart on the same store', async () => {
    const store = await openStore({ root: '', inMemory: true });
    const runtime = createFakeRuntime();
    const first = await openHost({ store, runtime });
    const kept = await first.manager.run(request(), 600);
    const lost = await first.manager.run(request(), 600);
    await first.manager.stop();
    runtime.lose(lost.hash);
    const second = await openHost({ store, runtime });
    assert.equal((await second.manager.get(kept.hash))?.ip, kept.ip, 'a healthy pod is left alone');
    assert.equal((await second.manager.get(lost.hash))?.state, 'running');
    assert.deepEqual(second.directory.get(lost.hash), await store.pods.get(lost.hash));
  });

  it('logs a failing hook without undoing the start', async () => {
    const host = await openHost();
    host.manager.onPodStarted(() => {
      throw new Error('injected hook failure');
    });
    const pod = await host.manager.run(request(), 60);
    assert.equal((await host.manager.get(pod.hash))?.state, 'running');
    assert.match(host.logs.text(), /a pod hook failed/);
  });
});
