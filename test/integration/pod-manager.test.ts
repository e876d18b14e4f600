import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { PodRequest } from '../../src/domain/types.js';
import { hashPrivateVar } from '../../src/manifest/hash.js';
import { createPodDirectory, type PodDirectory } from '../../src/pods/pod-directory.js';
import { isCodiusError } from '../../src/domain/errors.js';
import { createPodManager, type PodManager } from '../../src/pods/pod-manager.js';
import type { ReconcileReport } from '../../src/pods/reconciler.js';
import { createPrivateVarsCipher } from '../../src/pods/private-vars.js';
import type { PodRuntime } from '../../src/runtime/driver.js';
import { openStore, type Store } from '../../src/store/store.js';
import { answerOf } from '../helpers/errors.js';
import { capturingLogger } from '../helpers/logs.js';
import { httpGet, setupPodman, waitForHttp } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const fixture = await setupPodman();
const PUBLIC_URI = 'https://codius.example.com';
const hostSecret = randomBytes(32);

function request(extra: Partial<PodRequest['manifest']> = {}): PodRequest {
  return {
    manifest: {
      name: `lifecycle-${randomBytes(4).toString('hex')}`,
      version: '1.0.0',
      port: '3000',
      containers: [{ id: 'web', image: fixture.webImage }],
      ...extra,
    },
  };
}

interface Host {
  /** What the first reconcile pass after the start did (it throws when the pass failed). */
  firstPass: ReconcileReport;
  /** The manager's log, for failure messages. */
  logText: () => string;
  store: Store;
  manager: PodManager;
  runtime: PodRuntime;
  hostId: string;
  root: string;
  directory: PodDirectory;
}

/** The in-memory directory the proxy reads must show exactly what the store holds. */
async function assertMirrored(host: Host, hash: string): Promise<void> {
  assert.deepEqual(host.directory.get(hash), await host.store.pods.get(hash));
}

/** A pod manager on real Podman and a real sqlite file, as the daemon builds it. */
async function openHost(
  options: { root?: string; hostId?: string; wrap?: (runtime: PodRuntime) => PodRuntime } = {},
): Promise<Host> {
  const root = options.root ?? (await tempDir());
  const hostId = options.hostId ?? fixture.newHostId();
  const store = await openStore({ root, inMemory: false });
  const base = fixture.driver(hostId, capturingLogger().logger);
  const runtime = options.wrap ? options.wrap(base) : base;
  const directory = createPodDirectory();
  const log = capturingLogger();
  const manager = createPodManager({
    store,
    directory,
    runtime,
    cipher: createPrivateVarsCipher(hostSecret),
    logger: log.logger,
    publicUri: PUBLIC_URI,
    // Passes happen when a test asks for one (after the first), never in the middle of what it arranges.
    reconcileIntervalMs: 3_600_000,
    reconcileRetryMs: 3_600_000,
  });
  await manager.start();
  manager.startReconciling();
  // The first reconcile pass runs in the background; these tests start from its outcome.
  const firstPass = await manager.reconcile();
  return { firstPass, logText: log.text, store, manager, runtime, hostId, root, directory };
}

async function close(host: Host): Promise<void> {
  await host.manager.stop();
  await host.store.close();
}

describe('pod lifecycle on real Podman', () => {
  it('starts a pod once for concurrent uploads of one manifest and counts every one', async () => {
    const host = await openHost();
    after(() => close(host));
    const upload = request();
    const before = Date.now();
    const results = await Promise.all([1, 2, 3].map(() => host.manager.run(upload, 600)));
    const pods = await host.runtime.listPods();
    assert.equal(pods.length, 1, 'one pod for one manifest');
    const record = await host.manager.get(results[0]?.hash ?? '');
    assert.ok(record);
    assert.equal(record.state, 'running');
    assert.equal(record.totalUptimeSeconds, 1800);
    await assertMirrored(host, record.hash);
    assert.ok(record.expiresAt >= before + 1_800_000 && record.expiresAt <= Date.now() + 1_800_000);
    assert.match(await waitForHttp(`http://${record.ip ?? ''}:3000/`), /hello/);
  });

  it('removes a pod when its time is up: runtime pod, record and manifest', async () => {
    const host = await openHost();
    after(() => close(host));
    const pod = await host.manager.run(request(), 1);
    assert.equal(pod.state, 'running');
    await assertMirrored(host, pod.hash);
    await until('expiry', async () => (await host.store.pods.get(pod.hash)) === undefined);
    assert.equal(await host.runtime.inspectPod(pod.hash), null);
    assert.equal(await host.store.manifests.get(pod.hash), undefined);
    assert.equal(await host.manager.get(pod.hash), undefined);
    assert.equal(host.directory.get(pod.hash), undefined);
  });

  it('recreates a paid pod deleted behind its back, private vars included', async () => {
    const host = await openHost();
    after(() => close(host));
    const privateVar = { nonce: 'n-1', value: 'the private value' };
    const upload: PodRequest = {
      ...request({
        vars: { SECRET: { value: hashPrivateVar(privateVar), encoding: 'private:sha256' } },
      }),
      private: { vars: { SECRET: privateVar } },
    };
    upload.manifest.containers[0] = { id: 'web', image: fixture.webImage, environment: { TOKEN: '$SECRET' } };
    const pod = await host.manager.run(upload, 600);
    // Sealed at rest: the private value is not in the database file in clear.
    const sealed = await host.store.manifests.getSealedPrivateVars(pod.hash);
    assert.ok(sealed && !sealed.includes('the private value'));

    await fixture.removePodsOf(host.hostId);
    const report = await host.manager.reconcile();
    assert.deepEqual(report.recreated, [pod.hash]);
    const record = await host.manager.get(pod.hash);
    assert.equal(record?.state, 'running');
    await waitForHttp(`http://${record.ip ?? ''}:3000/`);
    const env = (await httpGet(`http://${record.ip ?? ''}:3000/cgi-bin/env`))?.body ?? '';
    assert.match(env, /^TOKEN=the private value$/m);
    assert.equal(record.expiresAt, pod.expiresAt, 'paid time is kept');
    await assertMirrored(host, pod.hash);
  });

  it('after a restart on the same store: recovers every paid pod and deletes orphans', async () => {
    const first = await openHost();
    const kept = await first.manager.run(request(), 600);
    const lost = await first.manager.run(request(), 600);
    await close(first);
    // While no codiusd runs: one paid pod dies, and a pod with this host's label appears that nobody paid for.
    await fixture.removePod(lost.hash);
    const { buildPodPlan } = await import('../../src/manifest/plan.js');
    const orphan = buildPodPlan(request(), { publicUri: PUBLIC_URI });
    await first.runtime.runPod(orphan);

    const second = await openHost({ root: first.root, hostId: first.hostId });
    after(() => close(second));
    assert.deepEqual(
      second.firstPass,
      { recreated: [lost.hash], failed: [], removedOrphans: [orphan.hash] },
      `the first pass after the restart; its log:\n${second.logText()}`,
    );
    const pods = new Map((await second.runtime.listPods()).map((p) => [p.hash, p.running]));
    assert.deepEqual([...pods.keys()].sort(), [kept.hash, lost.hash].sort());
    assert.ok([...pods.values()].every(Boolean));
    assert.equal((await second.manager.get(kept.hash))?.ip, kept.ip, 'a healthy pod is left alone');
    assert.equal((await second.manager.get(lost.hash))?.state, 'running');
    // Loaded from the store at start, then updated by the recreation.
    await assertMirrored(second, kept.hash);
    await assertMirrored(second, lost.hash);
  });

  it('keeps a pod "terminating" until the runtime confirms deletion, retrying with backoff', async () => {
    let failuresLeft = 2;
    const host = await openHost({
      wrap: (runtime) => ({
        ...runtime,
        async deletePod(hash) {
          if (failuresLeft > 0) {
            failuresLeft -= 1;
            throw new Error('injected: runtime refused to delete');
          }
          return runtime.deletePod(hash);
        },
      }),
    });
    after(() => close(host));
    const pod = await host.manager.run(request(), 1);
    await until('terminating', async () => (await host.store.pods.get(pod.hash))?.state === 'terminating');
    // The runtime still runs it, so the store still knows it: a failed stop must not forget a running pod.
    assert.equal((await host.runtime.inspectPod(pod.hash))?.running, true);
    await until('removal after retries', async () => (await host.store.pods.get(pod.hash)) === undefined);
    assert.equal(failuresLeft, 0);
    assert.equal(await host.runtime.inspectPod(pod.hash), null);
  });

  it('a pod that cannot start leaves no record and no runtime pod', async () => {
    const host = await openHost();
    after(() => close(host));
    const upload = request({ containers: [{ id: 'web', image: fixture.missingImage }] });
    await assert.rejects(host.manager.run(upload, 600), (error: unknown) => {
      assert.ok(isCodiusError(error, 'image_unavailable', 'pod_start_failed'));
      assert.match(answerOf(error).message, /not available/);
      return true;
    });
    assert.deepEqual(await host.store.pods.list(), []);
    assert.equal(host.directory.size(), 0);
    assert.deepEqual(await host.runtime.listPods(), []);
  });

  it('extends a live pod and refuses unknown ones', async () => {
    const host = await openHost();
    after(() => close(host));
    const pod = await host.manager.run(request(), 60);
    const extended = await host.manager.extend(pod.hash, 60);
    assert.equal(extended?.expiresAt, pod.expiresAt + 60_000);
    await assertMirrored(host, pod.hash);
    assert.equal(await host.manager.extend('a'.repeat(52), 60), null);
  });
});
