import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { PodRequest } from '../../src/domain/types.js';
import { createPodDirectory } from '../../src/pods/pod-directory.js';
import { createPodManager } from '../../src/pods/pod-manager.js';
import { createPrivateVarsCipher } from '../../src/pods/private-vars.js';
import { createRegistryPolicy } from '../../src/runtime/registry-policy.js';
import { openStore } from '../../src/store/store.js';
import { createFakeRuntime } from '../fakes/runtime.js';
import { bodyOf, openApiHost, webManifest } from '../helpers/api-host.js';
import { capturingLogger } from '../helpers/logs.js';

const HOUR = 3_600_000;

function request(image: string): PodRequest {
  return {
    manifest: {
      name: `img-${randomBytes(4).toString('hex')}`,
      version: '1.0.0',
      containers: [{ id: 'a', image }],
    },
  };
}

describe('image retention', () => {
  it('removes images codiusd pulled once no pod has used them for the retention time, and no others', async () => {
    let clock = Date.now();
    const store = await openStore({ root: '', inMemory: true, now: () => clock });
    after(() => store.close());
    const runtime = createFakeRuntime();
    runtime.images.add('operator/own-image');
    const manager = createPodManager({
      store,
      directory: createPodDirectory(),
      runtime,
      cipher: createPrivateVarsCipher(randomBytes(32)),
      logger: capturingLogger().logger,
      publicUri: 'https://codius.example.com',
      reconcileIntervalMs: 3_600_000,
      imageRetentionMs: 24 * HOUR,
      now: () => clock,
    });
    await manager.start();
    after(() => manager.stop());

    const shortLived = await manager.run(request('registry.example/short@sha256:1'), 60);
    const longLived = await manager.run(request('registry.example/long@sha256:2'), 72 * 3600);
    await manager.run(request('operator/own-image'), 60);
    assert.deepEqual(
      (await store.images.list()).map((i) => i.reference),
      ['registry.example/long@sha256:2', 'registry.example/short@sha256:1'],
      'only what codiusd pulled is tracked',
    );

    clock += 2 * 60_000;
    await manager.expireDue();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await manager.get(shortLived.hash), undefined);
    await manager.reconcile();
    assert.ok(runtime.images.has('registry.example/short@sha256:1'), 'kept within the retention time');

    clock += 25 * HOUR;
    await manager.reconcile();
    assert.equal(runtime.images.has('registry.example/short@sha256:1'), false, 'removed after it');
    assert.ok(runtime.images.has('registry.example/long@sha256:2'), 'a live pod keeps its image');
    assert.ok(runtime.images.has('operator/own-image'), 'never an image codiusd did not pull');
    assert.ok(await manager.get(longLived.hash));
    assert.deepEqual(
      (await store.images.list()).map((i) => i.reference),
      ['registry.example/long@sha256:2'],
    );
  });
});

describe('sandbox checks before payment', () => {
  it('refuses more containers than CODIUS_MAX_CONTAINERS with a 400', async () => {
    const host = await openApiHost();
    const containers = Array.from({ length: 11 }, (_, i) => ({ id: `c${i}`, image: 'img' }));
    for (const method of ['POST', 'OPTIONS'] as const) {
      const response = await host.inject({
        method,
        url: '/pods?duration=60',
        payload: { manifest: webManifest('many', { containers }) },
      });
      assert.equal(response.statusCode, 400, method);
      assert.equal(
        bodyOf(response).message,
        'a manifest may have at most 10 containers on this host; this one has 11',
      );
      assert.equal(response.headers.pay, undefined);
    }
  });

  it('refuses an image from a private registry with a 422 before asking for money', async () => {
    const host = await openApiHost({
      registries: createRegistryPolicy({
        allowPrivate: false,
        allowed: [],
        lookup: () => Promise.resolve(['10.1.2.3']),
      }),
    });
    const manifest = webManifest('private', {
      containers: [{ id: 'a', image: 'registry.corp.example/app@sha256:1' }],
    });
    const response = await host.inject({ method: 'POST', url: '/pods?duration=60', payload: { manifest } });
    assert.equal(response.statusCode, 422);
    assert.equal(
      bodyOf(response).message,
      'image registry.corp.example/app@sha256:1 cannot be pulled on this host: its registry registry.corp.example resolves to an address that is not public',
    );
    assert.equal(response.headers.pay, undefined);
  });
});
