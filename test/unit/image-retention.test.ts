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
import { bodyOf, openApiHost, PRICE_600, webManifest } from '../helpers/api-host.js';
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
    runtime.images.add(
      'docker.io/operator/own-image@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc',
    );
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
    manager.startReconciling();
    await manager.reconcile();
    after(() => manager.stop());

    const shortLived = await manager.run(
      request(
        'registry.example/short@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      ),
      60,
    );
    const longLived = await manager.run(
      request(
        'registry.example/long@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
      ),
      72 * 3600,
    );
    await manager.run(
      request(
        'docker.io/operator/own-image@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc',
      ),
      60,
    );
    assert.deepEqual(
      (await store.images.list()).map((i) => i.reference),
      [
        'registry.example/long@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        'registry.example/short@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      ],
      'only what codiusd pulled is tracked',
    );

    clock += 2 * 60_000;
    await manager.expireDue();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await manager.get(shortLived.hash), undefined);
    await manager.reconcile();
    assert.ok(
      runtime.images.has(
        'registry.example/short@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      ),
      'kept within the retention time',
    );

    clock += 25 * HOUR;
    await manager.reconcile();
    assert.equal(
      runtime.images.has(
        'registry.example/short@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      ),
      false,
      'removed after it',
    );
    assert.ok(
      runtime.images.has(
        'registry.example/long@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
      ),
      'a live pod keeps its image',
    );
    assert.ok(
      runtime.images.has(
        'docker.io/operator/own-image@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc',
      ),
      'never an image codiusd did not pull',
    );
    assert.ok(await manager.get(longLived.hash));
    assert.deepEqual(
      (await store.images.list()).map((i) => i.reference),
      ['registry.example/long@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'],
    );
  });
});

describe('sandbox checks before payment', () => {
  it('refuses more containers than CODIUS_MAX_CONTAINERS with a 400', async () => {
    const host = await openApiHost();
    const containers = Array.from({ length: 11 }, (_, i) => ({
      id: `c${i}`,
      image: 'registry.example/img@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    }));
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
      containers: [
        {
          id: 'a',
          image:
            'registry.corp.example/app@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc',
        },
      ],
    });
    const response = await host.inject({ method: 'POST', url: '/pods?duration=60', payload: { manifest } });
    assert.equal(response.statusCode, 422);
    assert.equal(
      bodyOf(response).message,
      'image registry.corp.example/app@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc cannot be pulled on this host: its registry registry.corp.example resolves to an address that is not public',
    );
    assert.equal(response.headers.pay, undefined);
  });

  it('refuses image IDs and references not pinned by digest with a 422 before asking for money', async () => {
    const host = await openApiHost();
    const refusals: Array<[string, RegExp]> = [
      [`sha256:${'d'.repeat(64)}`, /an image ID is not a reference/],
      ['d'.repeat(12), /an image ID is not a reference/],
      ['d'.repeat(64), /an image ID is not a reference/],
      ['nginx', /not pinned by digest/],
      ['registry.example/app:1.2', /not pinned by digest/],
      [`Registry.Example/App@sha256:${'d'.repeat(64)}`, /not a valid image reference/],
      [`registry.example/app@sha256:${'D'.repeat(64)}`, /not pinned by digest/],
    ];
    for (const [image, reason] of refusals) {
      const manifest = webManifest('refused', { containers: [{ id: 'a', image }] });
      for (const method of ['POST', 'OPTIONS'] as const) {
        const response = await host.inject({ method, url: '/pods?duration=60', payload: { manifest } });
        assert.equal(response.statusCode, 422, `${method} ${image}`);
        assert.match(String(bodyOf(response).message), reason, image);
        assert.equal(response.headers.pay, undefined);
      }
    }
  });

  it('runs a Docker Hub name as Docker reads it, fully qualified, so no short name reaches the runtime', async () => {
    const host = await openApiHost();
    const digest = `sha256:${'e'.repeat(64)}`;
    const cases: Array<[string, string]> = [
      [`nginx@${digest}`, `docker.io/library/nginx@${digest}`],
      [`androswong418/codius-test-image@${digest}`, `docker.io/androswong418/codius-test-image@${digest}`],
      [`nginx:1.27@${digest}`, `docker.io/library/nginx:1.27@${digest}`],
      [`localhost:5000/app@${digest}`, `localhost:5000/app@${digest}`],
      [`ghcr.io/org/app@${digest}`, `ghcr.io/org/app@${digest}`],
    ];
    for (const [image, pulled] of cases) {
      const manifest = webManifest('qualified', { containers: [{ id: 'a', image }] });
      const paid = await host.paid({
        method: 'POST',
        url: '/pods?duration=60',
        payload: { manifest },
        pays: PRICE_600,
      });
      assert.equal(paid.response.statusCode, 200, paid.response.payload);
      assert.ok(host.runtime.images.has(pulled), `${image} → ${pulled}`);
    }
  });
});
