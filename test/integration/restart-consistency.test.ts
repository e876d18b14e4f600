// What a kill -9 in the middle of pod starts leaves, and what the next start makes of it: after the first
// reconcile pass, every paid record has a runtime pod that runs and serves, and every runtime pod of the
// host has a paid record. Several rounds, with the operator's Podman service and with codiusd's own.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Manifest } from '../../src/domain/types.js';
import { hashManifest } from '../../src/manifest/hash.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { freePort, startDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { createPayingClient } from '../helpers/ilp-client.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { httpGet, podAddress, podman, setupPodman } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until, untilAcceptingUploads } from '../helpers/wait.js';

await setupMoneyd();
const fixture = await setupPodman();
const PRICE_600 = 2_283_106n;
const ROUNDS = Number(process.env.CODIUS_TEST_RESTART_ROUNDS ?? 4);
const UPLOADS = 10;
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const payer = createPayingClient();
after(() => payer.close());

interface RuntimePod {
  hash: string;
  status: string;
}

async function runtimePodsOf(hostId: string): Promise<RuntimePod[]> {
  const listed = await podman([
    'pod',
    'ps',
    '--filter',
    `label=codius.host=${hostId}`,
    '--format',
    '{{.Name}} {{.Status}}',
  ]);
  return listed
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', status = ''] = line.split(' ');
      return { hash: name.replace(/^codius-/, ''), status };
    });
}

async function records(daemon: DaemonProcess & { adminUrl: string }) {
  const response = await fetch(`${daemon.adminUrl}/api/pods`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return ((await response.json()) as { pods: Array<{ manifestHash: string; state: string }> }).pods;
}

async function start(env: Record<string, string>, adminPort: number) {
  const daemon = await startDaemon(env);
  // The admin listener opens right after the public port.
  await daemon.waitForOutput(/admin API on/);
  return { ...daemon, adminUrl: `http://127.0.0.1:${adminPort}` };
}

describe('consistency after kill -9 while pods start', () => {
  it(`${ROUNDS} rounds of ${UPLOADS} paid uploads cut by kill -9: after one pass, records and runtime pods agree`, async (t) => {
    for (let round = 1; round <= ROUNDS; round += 1) {
      const root = await tempDir();
      const hostId = hostIdFromSecret((await loadOrCreateHostSecret(root)).secret);
      fixture.adoptHostId(hostId);
      const adminPort = await freePort();
      const env: Record<string, string> = {
        ...fixture.daemonEnv(root, await freePort()),
        ILP_CREDENTIALS: JSON.stringify(testBtpCredentials()),
        CODIUS_RECONCILE_INTERVAL: '5',
        CODIUS_ADMIN_API: 'true',
        CODIUS_ADMIN_PORT: String(adminPort),
        CODIUS_ADMIN_TOKEN: ADMIN_TOKEN,
        CONTAINERS_REGISTRIES_CONF: process.env.CONTAINERS_REGISTRIES_CONF ?? '',
      };
      // Every other round, as a host without CODIUS_PODMAN_SOCKET: codiusd runs its own Podman service.
      if (round % 2 === 0) delete env.CODIUS_PODMAN_SOCKET;
      const first = await start(env, adminPort);
      await untilAcceptingUploads(first.url);
      const manifests: Manifest[] = Array.from({ length: UPLOADS }, (_, i) => ({
        name: `restart-${round}-${i}-${randomBytes(3).toString('hex')}`,
        version: '1.0.0',
        port: '3000',
        containers: [{ id: 'web', image: fixture.webImage }],
      }));
      const answers = manifests.map((manifest) =>
        payer
          .request(`${first.url}/pods?duration=600`, {
            method: 'POST',
            body: { manifest },
            maxPrice: PRICE_600,
          })
          .then((r) => r.status)
          .catch(() => 0),
      );
      // The first pod is being made in the runtime: cut somewhere in the next second and a half, while
      // pods are created, started and settling.
      await until('a pod is being made', async () => (await runtimePodsOf(hostId)).length > 0, 60_000, 20);
      await new Promise((resolve) => setTimeout(resolve, ((round * 7) % 6) * 300));
      first.child.kill('SIGKILL');
      await first.exited;
      const answered = await Promise.all(answers);

      const second = await start(env, adminPort);
      await untilAcceptingUploads(second.url, 60_000);
      // Right after the first pass: nothing more is waited for.
      const kept = (await records(second)).filter((r) => r.state !== 'terminating');
      const pods = await runtimePodsOf(hostId);
      t.diagnostic(
        `round ${round}: ${answered.filter((s) => s === 200).length} answered 200 before the kill; ` +
          `${kept.length} paid records, runtime pods ${pods.map((p) => p.status).join(' ') || 'none'}`,
      );
      const running = new Map(pods.map((p) => [p.hash, p.status]));
      for (const record of kept) {
        assert.equal(
          running.get(record.manifestHash),
          'Running',
          `round ${round}: paid pod ${record.manifestHash}`,
        );
        assert.equal(record.state, 'running', `round ${round}: its record says what the runtime says`);
        const ip = await podAddress(record.manifestHash, fixture.network);
        assert.equal((await httpGet(`http://${ip}:3000/`, 5_000))?.status, 200, `round ${round}: it serves`);
      }
      const paid = new Set(kept.map((r) => r.manifestHash));
      for (const pod of pods)
        assert.ok(paid.has(pod.hash), `round ${round}: runtime pod ${pod.hash} is paid for`);
      for (const [i, status] of answered.entries()) {
        const hash = hashManifest(manifests[i] as Manifest);
        if (status === 200) assert.ok(paid.has(hash), `round ${round}: an upload answered 200 keeps its pod`);
      }

      second.child.kill('SIGTERM');
      await second.exited;
      await fixture.removePodsOf(hostId);
      await until(
        'the round’s pods are gone',
        async () => (await runtimePodsOf(hostId)).length === 0,
        30_000,
      );
    }
  });

  it('repairs a pod stopped behind its back within seconds, not at the next reconcile pass', async (t) => {
    const root = await tempDir();
    const hostId = hostIdFromSecret((await loadOrCreateHostSecret(root)).secret);
    fixture.adoptHostId(hostId);
    // Passes once an hour: only the runtime's own events can bring the pod back quickly.
    const daemon = await startDaemon({
      ...fixture.daemonEnv(root, await freePort()),
      CODIUS_RECONCILE_INTERVAL: '3600',
    });
    await untilAcceptingUploads(daemon.url);
    const manifest: Manifest = {
      name: `stopped-${randomBytes(3).toString('hex')}`,
      version: '1.0.0',
      port: '3000',
      containers: [{ id: 'web', image: fixture.webImage }],
    };
    const paid = await payer.request(`${daemon.url}/pods?duration=600`, {
      method: 'POST',
      body: { manifest },
      maxPrice: PRICE_600,
    });
    assert.equal(paid.status, 200, paid.body);
    const hash = hashManifest(manifest);
    await podman(['pod', 'stop', '--time', '0', `codius-${hash}`]);
    const stoppedAt = Date.now();
    await until(
      'the pod runs and serves again',
      async () => {
        const [pod] = await runtimePodsOf(hostId);
        if (pod?.status !== 'Running') return false;
        return (
          (await httpGet(`http://${await podAddress(hash, fixture.network)}:3000/`, 1_000))?.status === 200
        );
      },
      15_000,
      100,
    );
    t.diagnostic(`serving again ${Date.now() - stoppedAt} ms after it was stopped`);
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });
});
