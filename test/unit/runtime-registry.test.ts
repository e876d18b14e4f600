import assert from 'node:assert/strict';
import { NON_PUBLIC_NETWORKS, TRANSLATED_NETWORKS } from '../../src/net/non-public.js';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { describePodNetwork } from '../../src/runtime/pod-network.js';
import { openRuntime, podmanNetwork, type RuntimeDrivers } from '../../src/runtime/registry.js';
import { createFakeRuntime } from '../fakes/runtime.js';
import { capturingLogger } from '../helpers/logs.js';

describe('runtime registry', () => {
  it('opens the driver CODIUS_RUNTIME names with its own section', async () => {
    const seen: unknown[] = [];
    const drivers: RuntimeDrivers = {
      podman: (settings, context) => {
        seen.push(['podman', settings, context.imagePullTimeoutMs, context.hostId]);
        return Promise.resolve(createFakeRuntime());
      },
      hyperd: (settings) => {
        seen.push(['hyperd', settings]);
        return Promise.resolve(createFakeRuntime());
      },
      kubernetes: (settings) => {
        seen.push(['kubernetes', settings.namespace, settings.runtimeClass, settings.blockedNetworks.length]);
        return Promise.resolve(createFakeRuntime());
      },
    };
    const context = {
      root: '/tmp/x',
      logger: capturingLogger().logger,
      hostSecret: Buffer.alloc(32),
      hostId: 'h1',
    };
    const podman = loadConfig({
      CODIUS_DEV: 'true',
      CODIUS_PODMAN_SOCKET: '/run/p.sock',
      CODIUS_IMAGE_PULL_TIMEOUT: '7',
    });
    await openRuntime(podman.runtime, context, drivers);
    const hyperd = loadConfig({ CODIUS_DEV: 'true', CODIUS_RUNTIME: 'hyperd', CODIUS_HYPER_NOOP: 'true' });
    await openRuntime(hyperd.runtime, context, drivers);
    const kubernetes = loadConfig({
      CODIUS_DEV: 'true',
      CODIUS_RUNTIME: 'kubernetes',
      CODIUS_K8S_NAMESPACE: 'pods',
      CODIUS_K8S_RUNTIME_CLASS: 'gvisor',
      CODIUS_POD_BLOCKED_NETWORKS: '203.0.113.0/24',
    });
    await openRuntime(kubernetes.runtime, context, drivers);
    assert.deepEqual(seen, [
      [
        'podman',
        { socket: '/run/p.sock', network: 'codius', subnet: '10.89.240.0/20', ociRuntime: 'runc' },
        7000,
        'h1',
      ],
      ['hyperd', { socket: '/var/run/hyper.sock', noop: true }],
      // The built-in non-public ranges and the operator's one.
      ['kubernetes', 'pods', 'gvisor', NON_PUBLIC_NETWORKS.length + TRANSLATED_NETWORKS.length + 1],
    ]);
  });

  it('describes the pod network once: name, bridge, subnet and gateway', () => {
    assert.deepEqual(
      podmanNetwork({ socket: null, network: 'codius', subnet: '10.89.240.0/20', ociRuntime: 'runc' }),
      {
        name: 'codius',
        bridge: 'codius0',
        subnet: '10.89.240.0/20',
        gateway: '10.89.240.1',
      },
    );
    assert.throws(() => describePodNetwork('x', '10.89.240.1/20'), /invalid pod subnet/);
  });
});
