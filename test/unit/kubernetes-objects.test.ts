/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-explicit-any, @typescript-eslint/no-non-null-assertion -- Kubernetes objects are walked as the plain JSON trees the API sends. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import type { PodPlan } from '../../src/domain/types.js';
import { blockedNetworks } from '../../src/firewall/policy.js';
import { toRuntimeError } from '../../src/runtime/kubernetes/api.js';
import {
  hostSelector,
  networkPolicyObject,
  podObject,
  secretObject,
} from '../../src/runtime/kubernetes/objects.js';
import { RuntimeApiError, RuntimeUnavailableError } from '../../src/runtime/errors.js';
import {
  checkKubernetesClientRuns,
  kubernetesClientRuns,
} from '../../src/runtime/kubernetes/client-support.js';
import { watchHostPods } from '../../src/runtime/kubernetes/pod-watch.js';
import { createLogger } from '../../src/logger.js';

const HASH = 'a'.repeat(52);
const settings = {
  namespace: 'codius',
  hostId: '0123456789abcdef',
  runtimeClass: null,
  blockedNetworks: blockedNetworks([]),
  blockedPorts: [
    { port: 25, protocol: 'tcp' as const },
    { port: 5060, protocol: 'udp' as const },
  ],
  ilpPort: 7768,
};

function plan(extra: Partial<PodPlan> = {}): PodPlan {
  return {
    hash: HASH,
    manifest: { name: 'x', version: '1', containers: [] },
    containers: [
      {
        id: 'web server!',
        name: `${HASH}__web`,
        image: 'r.example/a@sha256:' + '1'.repeat(64),
        env: [{ name: 'A', value: 'public', secret: false }],
      },
      {
        id: 'worker',
        name: `${HASH}__worker`,
        image: 'r.example/b@sha256:' + '2'.repeat(64),
        command: ['node', 'w.js'],
        workdir: '/app',
        env: [{ name: 'KEY', value: 'hidden', secret: true }],
      },
    ],
    resources: { vcpu: 1, memoryMiB: 512 },
    port: 3000,
    debug: false,
    ...extra,
  };
}

describe('Kubernetes objects', () => {
  it('builds a Pod, Secret and NetworkPolicy that pass the Kubernetes schemas', () => {
    const pod = podObject(plan(), settings);
    new Pod(pod).validate();
    const secret = secretObject(plan(), settings);
    assert.ok(secret);
    new Secret(secret).validate();
    new NetworkPolicy(networkPolicyObject(plan(), settings)).validate();
  });

  it('splits the pod’s memory and CPU across its containers as limits, and hardens each container', () => {
    const pod = podObject(plan(), { ...settings, runtimeClass: 'gvisor' }) as { spec: Record<string, any> };
    assert.equal(pod.spec.runtimeClassName, 'gvisor');
    const [web, worker] = pod.spec.containers;
    assert.deepEqual(web.resources.limits, { memory: '256Mi', cpu: '500m' });
    assert.equal(web.name, 'c0', 'manifest ids are free text; the names are c0, c1…');
    assert.deepEqual(worker.command, ['node', 'w.js']);
    assert.equal(worker.workingDir, '/app');
    assert.equal(web.securityContext.allowPrivilegeEscalation, false);
    assert.equal(web.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(web.securityContext.capabilities.drop, ['ALL']);
    assert.equal(web.imagePullPolicy, 'Always', 'the registry confirms the reference at every start');
    assert.equal(pod.spec.hostUsers, false);
    assert.ok(!JSON.stringify(pod).includes('hidden'), 'the private value is only in the Secret');
    assert.deepEqual(worker.env, [
      { name: 'KEY', valueFrom: { secretKeyRef: { name: `codius-${HASH}-env`, key: 'v0' } } },
    ]);
  });

  it('has no Secret without private values', () => {
    assert.equal(secretObject(plan({ containers: [plan().containers[0]!] }), settings), null);
  });

  it('opens every port but the blocked ones, and the ILP port only to codiusd', () => {
    const policy = networkPolicyObject(plan(), settings) as { spec: Record<string, any> };
    const [internet, dns, ilp] = policy.spec.egress;
    assert.deepEqual(internet.ports, [
      { protocol: 'TCP', port: 1, endPort: 24 },
      { protocol: 'TCP', port: 26, endPort: 65_535 },
      { protocol: 'UDP', port: 1, endPort: 5059 },
      { protocol: 'UDP', port: 5061, endPort: 65_535 },
    ]);
    assert.ok(internet.to[0].ipBlock.except.includes('169.254.0.0/16'));
    assert.ok(internet.to[1].ipBlock.except.includes('fe80::/10'));
    assert.deepEqual(dns.ports, [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    assert.deepEqual(ilp.ports, [{ protocol: 'TCP', port: 7768 }]);
    // Peers by label are selected in their own namespace: a tenant's look-alike elsewhere is no peer.
    assert.deepEqual(ilp.to[0].namespaceSelector, {
      matchLabels: { 'kubernetes.io/metadata.name': 'codius' },
    });
    assert.deepEqual(dns.to[0].namespaceSelector, {
      matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
    });
    assert.deepEqual(policy.spec.ingress[0].from[0].namespaceSelector, {
      matchLabels: { 'kubernetes.io/metadata.name': 'codius' },
    });
    assert.ok(internet.to[1].ipBlock.except.includes('64:ff9b::/96'), 'NAT64 of a private address');
    const closed = networkPolicyObject(plan({ port: null }), { ...settings, ilpPort: null }) as {
      spec: Record<string, any>;
    };
    assert.deepEqual(closed.spec.ingress, [], 'no port: nothing may connect');
    assert.equal(closed.spec.egress.length, 2);
    assert.equal(hostSelector('h1'), 'codius.host=h1,app.kubernetes.io/managed-by=codiusd');
  });
});

describe('Kubernetes API errors', () => {
  const apiError = (code: number, message: string) =>
    Object.assign(new Error('HTTP-Code'), { code, body: JSON.stringify({ kind: 'Status', message, code }) });

  it('names the RBAC verb and resource a 403 lacks', () => {
    const error = toRuntimeError(apiError(403, 'pods is forbidden'), 'create', 'pods', 'codius');
    assert.ok(error instanceof RuntimeApiError);
    assert.equal(error.status, 403);
    assert.match(error.message, /needs the RBAC verb "create" on "pods" \(API group ""\)/);
  });

  it('keeps the API’s status and message, and calls a missing API unavailable', () => {
    const invalid = toRuntimeError(apiError(422, 'Pod "x" is invalid'), 'create', 'pods', 'codius');
    assert.ok(invalid instanceof RuntimeApiError && invalid.status === 422);
    assert.match(invalid.message, /Pod "x" is invalid/);
    const exists = toRuntimeError(apiError(409, 'already exists'), 'create', 'secrets', 'codius');
    assert.ok(exists instanceof RuntimeApiError && exists.status === 409);
    const down = toRuntimeError(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      'list',
      'pods',
      'codius',
    );
    assert.ok(down instanceof RuntimeUnavailableError);
  });
});

describe('Kubernetes pod watch', () => {
  it('passes events on, watches again once after the API ends a watch, and stops', async () => {
    const starts: Array<{ done: (error: unknown) => void; stopped: boolean }> = [];
    const events: string[] = [];
    const api = {
      watchPods(
        _selector: string,
        onEvent: (type: string, pod: Record<string, unknown>) => void,
        done: (error: unknown) => void,
      ) {
        const entry = { done, stopped: false };
        starts.push(entry);
        onEvent('MODIFIED', { metadata: { name: `pod-${starts.length}` } });
        return Promise.resolve(() => {
          entry.stopped = true;
        });
      },
    };
    const stop = watchHostPods(api, 'a=b', createLogger('silent'), (event) =>
      events.push(`${event.type} ${String(event.object.metadata?.name)}`),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // The client reports the end twice (done and a rejected promise): one new watch.
    starts[0]?.done(new Error('watch closed'));
    starts[0]?.done(null);
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    assert.equal(starts.length, 2);
    assert.deepEqual(events, ['MODIFIED pod-1', 'MODIFIED pod-2']);
    stop();
    assert.equal(starts[1]?.stopped, true);
  });
});

describe('Kubernetes client and the Node.js line', () => {
  it('runs on 22.19 and later, and says why it cannot start on an older line', () => {
    assert.equal(kubernetesClientRuns('24.0.0'), true);
    assert.equal(kubernetesClientRuns('22.19.0'), true);
    assert.equal(kubernetesClientRuns('22.18.9'), false);
    assert.equal(kubernetesClientRuns('20.20.2'), false);
    assert.throws(
      () => checkKubernetesClientRuns('20.20.2'),
      (error: unknown) =>
        error instanceof RuntimeUnavailableError &&
        /needs Node\.js 22\.19 or later \(this is 20\.20\.2\)/.test(error.message),
    );
    checkKubernetesClientRuns('24.22.3');
  });
});
