/* eslint-disable @typescript-eslint/no-unsafe-member-access -- Kubernetes objects are walked as the plain JSON trees the API sends. */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import type { Manifest } from '../../src/domain/types.js';
import { hashManifest, hashPrivateVar } from '../../src/manifest/index.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { SERVICE_CHECKS } from '../../src/doctor/checks-services.js';
import type { DoctorProbes } from '../../src/doctor/probes.js';
import { createPayingClient } from '../helpers/ilp-client.js';
import { startKubeApi } from '../helpers/kube-api.js';
import { startAppHost } from '../helpers/app-host.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { tempDir } from '../helpers/tmp.js';
import { until, untilAcceptingUploads } from '../helpers/wait.js';

// CODIUS_RUNTIME=kubernetes against a stand-in API server (see kube-api.ts): a paid upload through a real
// codiusd (real moneyd, real STREAM payment) becomes a Pod, a Secret and a NetworkPolicy, and the proxy
// answers from the address the API reports for the pod, where the test serves it on a loopback address.
const NAMESPACE = 'codius';
const PUBLIC_HOST = 'codius.example.com';
const REGISTRY = 'registry.codius.test';
const IMAGE = `${REGISTRY}/hello@sha256:${'ab'.repeat(32)}`;
const MISSING_IMAGE = `${REGISTRY}/missing@sha256:${'cd'.repeat(32)}`;
const PRIVATE_VALUE = 'a private value never shown';

await setupMoneyd();
const dir = await tempDir();
let nextAddress = 10;
const kube = await startKubeApi({
  namespace: NAMESPACE,
  dir,
  async runPod(pod) {
    const containers = pod.spec.containers as Array<{ image: string }>;
    if (containers.some((c) => c.image === MISSING_IMAGE)) {
      return {
        waitingReason: 'ErrImagePull',
        message: `rpc error: code = NotFound desc = ${MISSING_IMAGE} not found`,
      };
    }
    // The "container": a server on an address of the loopback range, as the pod's IP.
    const ip = `127.0.0.${nextAddress++}`;
    const name = String(pod.metadata.name);
    const server: Server = createServer((_req, res) => res.end(`hello from ${name}\n`));
    await new Promise<void>((resolve) => server.listen(3000, ip, resolve));
    return {
      ip,
      stop: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
});
process.env.KUBECONFIG = kube.kubeconfig;

const root = await tempDir();
const { app, logs } = await startAppHost(
  {
    CODIUS_PUBLIC_URI: `https://${PUBLIC_HOST}`,
    CODIUS_ROOT: root,
    CODIUS_RUNTIME: 'kubernetes',
    CODIUS_K8S_NAMESPACE: NAMESPACE,
    CODIUS_K8S_RUNTIME_CLASS: 'gvisor',
    CODIUS_ALLOWED_REGISTRIES: REGISTRY,
    CODIUS_RECONCILE_INTERVAL: '5',
    CODIUS_IMAGE_PULL_TIMEOUT: '5',
    ILP_CREDENTIALS: JSON.stringify(testBtpCredentials()),
  },
  { anyPort: true },
);
const url = app.listeningUrl();
const payer = createPayingClient();
after(() => payer.close());

function manifest(name: string, extra: Partial<Manifest> = {}): Manifest {
  return { name, version: '1.0.0', port: '3000', containers: [{ id: 'web', image: IMAGE }], ...extra };
}

async function upload(body: unknown, duration = 600): Promise<{ status: number; body: string }> {
  return payer.request(`${url}/pods?duration=${duration}`, { method: 'POST', body, maxPrice: 10_000_000n });
}

await untilAcceptingUploads(url);

/** GET / with the pod's Host (fetch will not send a Host of the caller's). */
const proxied = (hash: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve) => {
    const req = request(`${url}/`, { headers: { Host: `${hash}.${PUBLIC_HOST}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
const named = (kind: 'pods' | 'secrets' | 'networkpolicies', hash: string) =>
  kube.objects(kind).filter((o) => o.metadata.labels['codius.manifest-hash'] === hash);

describe('Kubernetes runtime', () => {
  const main = manifest('k8s-main', {
    debug: true,
    vars: {
      TOKEN: { encoding: 'private:sha256', value: hashPrivateVar({ nonce: 'n1', value: PRIVATE_VALUE }) },
    },
    containers: [{ id: 'web', image: IMAGE, environment: { TOKEN: '$TOKEN', PLAIN: 'shown' } }],
  });
  const mainHash = hashManifest(main);

  it('runs a paid upload as a Pod, Secret and NetworkPolicy, and proxies to the pod address the API reports', async () => {
    const reply = await upload({
      manifest: main,
      private: { vars: { TOKEN: { nonce: 'n1', value: PRIVATE_VALUE } } },
    });
    assert.equal(reply.status, 200, reply.body);
    assert.equal((JSON.parse(reply.body) as { manifestHash: string }).manifestHash, mainHash);

    const [pod] = named('pods', mainHash);
    assert.ok(pod);
    assert.equal(pod.metadata.name, `codius-${mainHash}`);
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.enableServiceLinks, false);
    assert.equal(pod.spec.hostNetwork, false);
    assert.equal(pod.spec.runtimeClassName, 'gvisor');
    assert.ok(!JSON.stringify(pod).includes(PRIVATE_VALUE), 'the private value is not in the Pod spec');
    const env = pod.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>;
    assert.deepEqual(
      env.find((v) => v.name === 'PLAIN'),
      { name: 'PLAIN', value: 'shown' },
    );
    assert.deepEqual(env.find((v) => v.name === 'TOKEN')?.valueFrom, {
      secretKeyRef: { name: `codius-${mainHash}-env`, key: 'v0' },
    });
    const [secret] = named('secrets', mainHash);
    assert.equal(Buffer.from(String(secret?.data.v0), 'base64').toString(), PRIVATE_VALUE);
    const [policy] = named('networkpolicies', mainHash);
    const except = policy?.spec.egress[0].to[0].ipBlock.except as string[];
    for (const range of ['169.254.0.0/16', '10.0.0.0/8', '127.0.0.0/8'])
      assert.ok(except.includes(range), range);
    assert.deepEqual(policy?.spec.ingress[0].ports, [{ protocol: 'TCP', port: 3000 }]);
    assert.deepEqual(kube.invalid, [], 'every object passed the Kubernetes schemas');

    const answer = await proxied(mainHash);
    assert.equal(answer.status, 200);
    assert.equal(answer.body, `hello from codius-${mainHash}\n`);
  });

  it('streams a debug pod’s logs from the log API', async () => {
    const response = await fetch(`${url}/pods/${mainHash}/logs?follow=false`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /log line 1 of c0/);
    assert.match(text, /log line 2 of c0/);
  });

  it('recreates a pod deleted behind codiusd’s back, from the watch', async () => {
    const before = named('pods', mainHash)[0]?.metadata.uid as string;
    kube.deletePod(`codius-${mainHash}`);
    await until('a new pod runs', () => {
      const pod = named('pods', mainHash)[0];
      return pod !== undefined && pod.metadata.uid !== before && pod.status?.phase === 'Running';
    });
    await until('the proxy serves it again', async () => (await proxied(mainHash)).status === 200);
  });

  it('refuses a manifest whose image does not come, and removes what it created', async () => {
    const broken = manifest('k8s-missing', { containers: [{ id: 'web', image: MISSING_IMAGE }] });
    const reply = await upload({ manifest: broken });
    assert.ok(reply.status >= 400 && reply.status < 600 && reply.status !== 200, reply.body);
    assert.match(reply.body, /not available|not found/i);
    await until('its objects are removed', () => named('pods', hashManifest(broken)).length === 0);
    assert.equal(named('networkpolicies', hashManifest(broken)).length, 0);
  });

  it('names the missing RBAC permission when the API forbids a call', async () => {
    kube.forbid('create', 'networkpolicies');
    const reply = await upload({ manifest: manifest('k8s-forbidden') });
    assert.notEqual(reply.status, 200);
    assert.match(logs.text(), /needs the RBAC verb \\"create\\" on \\"networkpolicies\\"/);
    assert.equal(
      named('pods', hashManifest(manifest('k8s-forbidden'))).length,
      0,
      'no pod without its policy',
    );
    kube.allow('create', 'networkpolicies');
  });

  it('deletes labelled objects nobody pays for', async () => {
    const hostId = hostIdFromSecret((await loadOrCreateHostSecret(root)).secret);
    const orphan = 'q'.repeat(52);
    const created = await fetch(`${kube.url}/api/v1/namespaces/${NAMESPACE}/secrets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: `codius-${orphan}-env`,
          labels: {
            'codius.manifest-hash': orphan,
            'codius.host': hostId,
            'app.kubernetes.io/managed-by': 'codiusd',
          },
        },
        data: { v0: 'eA==' },
      }),
    });
    assert.equal(created.status, 201);
    await until('the orphan is removed', () => named('secrets', orphan).length === 0, 15_000);
  });

  it('deletes the Pod, Secret and NetworkPolicy when the time is up', async () => {
    const short = manifest('k8s-short');
    const hash = hashManifest(short);
    const reply = await upload({ manifest: short }, 2);
    assert.equal(reply.status, 200, reply.body);
    assert.ok(kube.calls.includes(`POST /api/v1/namespaces/${NAMESPACE}/pods`));
    await until(
      'the pod is gone',
      () => named('pods', hash).length + named('networkpolicies', hash).length === 0,
    );
    assert.equal(named('secrets', hash).length, 0);
    assert.ok(kube.calls.includes(`DELETE /api/v1/namespaces/${NAMESPACE}/pods/codius-${hash}`));
    assert.ok(
      kube.calls.includes(
        `DELETE /apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/networkpolicies/codius-${hash}`,
      ),
    );
    assert.equal((await proxied(hash)).status, 404);
  });

  it('codiusd doctor checks the cluster and the service account’s access', async () => {
    const check = SERVICE_CHECKS.find((candidate) => candidate.id === 'runtime');
    assert.ok(check);
    const config = loadConfig({
      CODIUS_DEV: 'true',
      CODIUS_RUNTIME: 'kubernetes',
      CODIUS_K8S_NAMESPACE: NAMESPACE,
    });
    const healthy = await check.run(config, {} as DoctorProbes);
    assert.equal(healthy.status, 'pass');
    assert.match(healthy.detail, new RegExp(`Kubernetes at ${kube.url}, namespace ${NAMESPACE}`));
    kube.forbid('list', 'pods');
    const refused = await check.run(config, {} as DoctorProbes);
    kube.allow('list', 'pods');
    assert.equal(refused.status, 'fail');
    assert.match(refused.detail, /needs the RBAC verb "list" on "pods"/);
  });

  it('used only what contrib/kubernetes/rbac.yaml grants, and all of it', async () => {
    const { loadAllYaml } = await import('@kubernetes/client-node');
    const documents = loadAllYaml(
      await readFile(new URL('../../../contrib/kubernetes/rbac.yaml', import.meta.url), 'utf8'),
    ) as Array<{ kind: string; rules?: Array<{ resources: string[]; verbs: string[] }> }>;
    const granted = new Set(
      (documents.find((d) => d.kind === 'Role')?.rules ?? []).flatMap((rule) =>
        rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${resource}`)),
      ),
    );
    assert.deepEqual([...kube.verbs].sort(), [...granted].sort());
  });
});
