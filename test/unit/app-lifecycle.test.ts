import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { createApp } from '../../src/app/app.js';
import { createLifecycle } from '../../src/app/lifecycle.js';
import { loadConfig } from '../../src/config/config.js';
import type { RuntimeDrivers } from '../../src/runtime/registry.js';
import { createFakeRuntime, type FakeRuntime } from '../fakes/runtime.js';
import { freePort } from '../helpers/daemon.js';
import { capturingLogger } from '../helpers/logs.js';
import { until } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';

describe('start/stop stack', () => {
  it('stops what started in reverse order, once', async () => {
    const { logger } = capturingLogger();
    const lifecycle = createLifecycle(logger);
    const events: string[] = [];
    for (const name of ['store', 'runtime', 'listener']) {
      await lifecycle.start(
        name,
        () => events.push(`start ${name}`),
        () => {
          events.push(`stop ${name}`);
        },
      );
    }
    assert.deepEqual(lifecycle.started(), ['store', 'runtime', 'listener']);
    await Promise.all([lifecycle.stopAll(), lifecycle.stopAll()]);
    await lifecycle.stopAll();
    assert.deepEqual(events, [
      'start store',
      'start runtime',
      'start listener',
      'stop listener',
      'stop runtime',
      'stop store',
    ]);
  });

  it('stops a component whose start was under way when the stop came, and starts nothing after it', async () => {
    const lifecycle = createLifecycle(capturingLogger().logger);
    const events: string[] = [];
    let finishStart = (): void => undefined;
    const starting = lifecycle.start(
      'service',
      () => new Promise<void>((resolve) => (finishStart = resolve)),
      () => {
        events.push('stop service');
      },
    );
    const stopped = lifecycle.stopAll();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, [], 'the stop waits for the start');
    await assert.rejects(
      lifecycle.start('late', () => undefined),
      /cannot start late: stopping/,
    );
    finishStart();
    await starting;
    await stopped;
    assert.deepEqual(events, ['stop service']);
  });

  it('remembers nothing for a start that fails, and a failing stop does not keep the rest running', async () => {
    const logs = capturingLogger();
    const lifecycle = createLifecycle(logs.logger);
    const stopped: string[] = [];
    await lifecycle.start(
      'a',
      () => 1,
      () => {
        stopped.push('a');
      },
    );
    await lifecycle.start(
      'b',
      () => 2,
      () => {
        throw new Error('injected stop failure');
      },
    );
    await assert.rejects(
      lifecycle.start(
        'c',
        () => Promise.reject(new Error('injected start failure')),
        () => {
          stopped.push('c');
        },
      ),
      /injected start failure/,
    );
    assert.deepEqual(lifecycle.started(), ['a', 'b']);
    await lifecycle.stopAll();
    assert.deepEqual(stopped, ['a']);
    assert.match(logs.text(), /could not stop b/);
  });

  it('hands each stop the value its start returned', async () => {
    const lifecycle = createLifecycle(capturingLogger().logger);
    let closed: unknown;
    const value = await lifecycle.start(
      'thing',
      () => Promise.resolve({ id: 42 }),
      (started) => {
        closed = started;
      },
    );
    await lifecycle.stopAll();
    assert.equal(closed, value);
  });
});

/** Runtime drivers that hand out one in-memory runtime, whichever CODIUS_RUNTIME says. */
function fakeDrivers(runtime: FakeRuntime): RuntimeDrivers {
  return {
    podman: () => Promise.resolve(runtime),
    hyperd: () => Promise.resolve(runtime),
    kubernetes: () => Promise.resolve(runtime),
  };
}

async function configFor(env: Record<string, string> = {}) {
  return {
    ...loadConfig({
      CODIUS_PUBLIC_URI: 'https://codius.example.com',
      CODIUS_ROOT: await tempDir(),
      CODIUS_BOOTSTRAP_PEERS: '[]',
      // A closed port: no ILP provider in the fast tier; and the fast tier leaves the host's nftables alone.
      ILP_BTP_SERVER: `btp+ws://127.0.0.1:${await freePort()}`,
      CODIUS_POD_FIREWALL: 'false',
      ...env,
    }),
    port: 0,
  };
}

describe('the composition root', () => {
  it('starts every phase over the runtime it is given and stops them all again', async () => {
    const runtime = createFakeRuntime();
    const logs = capturingLogger();
    const app = createApp({
      config: await configFor(),
      logger: logs.logger,
      runtimeDrivers: fakeDrivers(runtime),
    });
    await app.start();
    after(() => app.stop());
    const info = (await (await fetch(`${app.listeningUrl()}/info`)).json()) as { acceptingUploads: boolean };
    assert.equal(info.acceptingUploads, false, 'no ILP provider: honestly closed');
    await until('the pods are reconciled with the runtime, once the host serves', () =>
      runtime.calls.includes('prepare'),
    );
    await app.stop();
    assert.equal(runtime.closed, true);
    assert.throws(() => app.listeningUrl(), /not listening/);
    assert.match(logs.text(), /codiusd listening on/);
  });

  it('releases exactly what started when the public port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    after(() => blocker.close());
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const runtime = createFakeRuntime();
    const config = { ...(await configFor()), port };
    const app = createApp({ config, logger: capturingLogger().logger, runtimeDrivers: fakeDrivers(runtime) });
    await assert.rejects(app.start(), (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE');
    assert.equal(runtime.closed, true, 'the runtime that started was closed again');
    // The store was closed too: a second app on the same root can open it.
    const again = createApp({
      config: { ...config, port: 0 },
      logger: capturingLogger().logger,
      runtimeDrivers: fakeDrivers(createFakeRuntime()),
    });
    await again.start();
    await again.stop();
  });

  it('releases the store when the runtime cannot be opened', async () => {
    const config = await configFor();
    const failing: RuntimeDrivers = {
      podman: () => Promise.reject(new Error('injected: no runtime')),
      hyperd: () => Promise.reject(new Error('injected: no runtime')),
      kubernetes: () => Promise.reject(new Error('injected: no runtime')),
    };
    const app = createApp({ config, logger: capturingLogger().logger, runtimeDrivers: failing });
    await assert.rejects(app.start(), /injected: no runtime/);
    const again = createApp({
      config,
      logger: capturingLogger().logger,
      runtimeDrivers: fakeDrivers(createFakeRuntime()),
    });
    await again.start();
    await again.stop();
  });
});
