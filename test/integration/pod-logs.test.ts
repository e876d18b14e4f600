import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { PodRequest } from '../../src/domain/types.js';
import { LOG_CONTENT_TYPE, podLogRoutes } from '../../src/http/routes/pod-logs.js';
import { createHttpServer } from '../../src/http/server.js';
import { createPodDirectory } from '../../src/pods/pod-directory.js';
import { createPodManager } from '../../src/pods/pod-manager.js';
import { createPrivateVarsCipher } from '../../src/pods/private-vars.js';
import type { ContainerLogSource } from '../../src/runtime/driver.js';
import { openStore } from '../../src/store/store.js';
import { capturingLogger } from '../helpers/logs.js';
import { setupPodman } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';

const fixture = await setupPodman();

function upload(debug: boolean, command: string[]): PodRequest {
  return {
    manifest: {
      name: `logs-${randomBytes(4).toString('hex')}`,
      version: '1.0.0',
      containers: [{ id: 'app', image: fixture.webImage, command }],
      ...(debug ? { debug: true } : {}),
    },
  };
}

const store = await openStore({ root: await tempDir(), inMemory: false });

describe('GET /pods/{id}/logs on real pods', () => {
  const manager = createPodManager({
    store,
    directory: createPodDirectory(),
    runtime: fixture.driver(fixture.newHostId(), capturingLogger().logger),
    cipher: createPrivateVarsCipher(randomBytes(32)),
    logger: capturingLogger().logger,
    publicUri: 'https://codius.example.com',
    reconcileIntervalMs: 3_600_000,
  });
  const opened: Array<{ signal: AbortSignal; sources: ContainerLogSource[] }> = [];
  const server = createHttpServer({ host: '127.0.0.1', port: 0, logger: capturingLogger().logger });
  server.route(
    podLogRoutes({
      get: (hash) => manager.get(hash),
      manifest: (hash) => manager.manifest(hash),
      async openLogs(hash, options) {
        const sources = await manager.openLogs(hash, options);
        if (sources) opened.push({ signal: options.signal, sources });
        return sources;
      },
    }),
  );
  let url = '';
  let debugHash = '';
  let privateHash = '';

  before(async () => {
    await manager.start();
    manager.startReconciling();
    await manager.reconcile();
    await server.start();
    url = server.info.uri;
    const ticker = [
      '/bin/sh',
      '-c',
      'echo started; echo oops >&2; while true; do echo tick; sleep 0.2; done',
    ];
    debugHash = (await manager.run(upload(true, ticker), 600)).hash;
    privateHash = (await manager.run(upload(false, ticker), 600)).hash;
  });
  after(async () => {
    await server.stop();
    await manager.stop();
    await store.close();
  });

  it('404 for an unknown pod, 403 without debug: true (spec texts)', async () => {
    const unknown = 'a'.repeat(52);
    const missing = await fetch(`${url}/pods/${unknown}/logs`);
    assert.equal(missing.status, 404);
    assert.equal(
      ((await missing.json()) as { message: string }).message,
      `no pod found with this id. id=${unknown}`,
    );
    const forbidden = await fetch(`${url}/pods/${privateHash}/logs`);
    assert.equal(forbidden.status, 403);
    assert.equal(
      ((await forbidden.json()) as { message: string }).message,
      `pod manifest does not allow debugging. id=${privateHash}`,
    );
  });

  it('dumps the logs so far as <container> <stream> <text> lines, uncompressed', async () => {
    const response = await fetch(`${url}/pods/${debugHash}/logs?follow=false`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), LOG_CONTENT_TYPE);
    assert.equal(response.headers.get('content-encoding'), null);
    assert.equal(response.headers.get('cache-control'), 'no-cache');
    const lines = (await response.text()).split('\n').filter(Boolean);
    assert.ok(lines.includes('app stdout started'), lines.join('|'));
    assert.ok(lines.includes('app stderr oops'));
    assert.ok(lines.every((line) => /^app (stdout|stderr) /.test(line)));
    assert.ok(!lines.includes('ping'));
  });

  it('follows with a ping every second, and closes upstream when the client goes away', async () => {
    const before = opened.length;
    const text = await new Promise<string>((resolve, reject) => {
      let received = '';
      const req = request(`${url}/pods/${debugHash}/logs?follow=true`, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          received += chunk;
          if (
            received.includes('ping\n') &&
            received.split('\n').filter((l) => l === 'app stdout tick').length >= 3
          ) {
            req.destroy();
            resolve(received);
          }
        });
      });
      req.on('error', (error) => {
        if (!received) reject(error);
      });
      req.end();
    });
    assert.match(text, /^ping$/m);
    const upstream = opened[before];
    assert.ok(upstream);
    // The abort reaches the runtime's log requests once the server notices the closed socket.
    for (let i = 0; i < 100 && !upstream.signal.aborted; i += 1) await new Promise((r) => setTimeout(r, 20));
    assert.equal(upstream.signal.aborted, true);
    for (let i = 0; i < 100 && !upstream.sources.every((s) => s.frames.destroyed); i += 1) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(upstream.sources.every((s) => s.frames.destroyed));
  });
});
