import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildPodPlan } from '../../src/manifest/plan.js';
import { PODMAN_SOCKET_FILE } from '../../src/runtime/podman/service.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { freePort, runDaemon, startDaemon } from '../helpers/daemon.js';
import { capturingLogger } from '../helpers/logs.js';
import { setupPodman } from '../helpers/podman.js';
import { seedPaidPod } from '../helpers/seed.js';
import { tempDir } from '../helpers/tmp.js';
import { untilPodsReconciled } from '../helpers/wait.js';
import { adoptHostOf } from '../helpers/pod-fixture.js';

const fixture = await setupPodman();

/** A dev-mode daemon on `root` with the fixture's network and registry, on a port of its own. */
async function devDaemonEnv(root: string): Promise<Record<string, string>> {
  return {
    CODIUS_DEV: 'true',
    CODIUS_ROOT: root,
    CODIUS_PORT: String(await freePort()),
    CODIUS_BOOTSTRAP_PEERS: '[]',
    CODIUS_PODMAN_NETWORK: fixture.network,
    CODIUS_PODMAN_SUBNET: fixture.subnet,
    CONTAINERS_REGISTRIES_CONF: process.env.CONTAINERS_REGISTRIES_CONF ?? '',
  };
}

describe('bin/codiusd with Podman', () => {
  it('starts its own Podman API service, recovers paid pods, removes orphans, and leaves pods running on exit', async () => {
    const root = await tempDir();
    const { secret } = await loadOrCreateHostSecret(root);
    const hostId = hostIdFromSecret(secret);
    fixture.adoptHostId(hostId);
    const driver = fixture.driver(hostId, capturingLogger().logger);
    await driver.prepare();

    // What an earlier codiusd left: a paid pod whose runtime pod died, and a labelled pod nobody pays for.
    const manifest = {
      name: `daemon-${randomBytes(4).toString('hex')}`,
      version: '1.0.0',
      port: '3000',
      containers: [{ id: 'web', image: fixture.webImage }],
    };
    const paid = await seedPaidPod(root, manifest, { publicUri: 'http://local.codius.org:3000' });
    const orphan = buildPodPlan(
      { manifest: { ...manifest, name: `${manifest.name}-orphan` } },
      { publicUri: 'http://local.codius.org:3000' },
    );
    await driver.runPod(orphan);

    const daemon = await startDaemon(await devDaemonEnv(root));
    assert.ok(existsSync(join(root, PODMAN_SOCKET_FILE)), 'its own API socket under CODIUS_ROOT');
    // It serves at once and recovers pods in the background; /info says when the first pass is done.
    await untilPodsReconciled(daemon.url);
    const pods = await driver.listPods();
    assert.deepEqual(
      pods.map((p) => [p.hash, p.running]),
      [[paid.hash, true]],
    );
    await daemon.waitForOutput(/paid pod is not running; recreating it/);
    await daemon.waitForOutput(/removed a pod of this host that nobody pays for/);

    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.exited).code, 0);
    assert.equal(existsSync(join(root, PODMAN_SOCKET_FILE)), false, 'API service stopped with the daemon');
    assert.equal((await driver.inspectPod(paid.hash))?.running, true, 'pods outlive the daemon');
  });

  it('stops cleanly on Ctrl-C in a terminal: its Podman service and moneyd are stopped by codiusd, not killed by the signal', async () => {
    const root = await tempDir();
    await adoptHostOf(fixture, root);
    const daemon = runDaemon(await devDaemonEnv(root), [], { ownProcessGroup: true });
    await daemon.waitForOutput(/connected to the ILP provider/, 20_000);
    const children = daemon
      .output()
      .split('\n')
      .filter(
        (line) =>
          line.includes('"msg":"started podman API service"') ||
          line.includes('"msg":"started embedded moneyd'),
      )
      .map((line) => (JSON.parse(line) as { pid: number }).pid);
    assert.equal(children.length, 2, daemon.output());

    // What the terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    process.kill(-(daemon.child.pid ?? 0), 'SIGINT');
    assert.equal((await daemon.exited).code, 0, daemon.output());
    assert.doesNotMatch(daemon.output(), /restarting it|"level":50/, daemon.output());
    for (const pid of children)
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
  });

  it('stopped while its Podman service is still starting, it stops that service too', async () => {
    const root = await tempDir();
    await adoptHostOf(fixture, root);
    // A podman that is slow to start: its pid is written, then it waits a moment before serving.
    const bin = await tempDir();
    const started = join(bin, 'started.pid');
    await writeFile(
      join(bin, 'podman'),
      `#!/bin/sh\necho $$ > ${started}\nsleep 1\nexec ${whichPodman()} "$@"\n`,
      { mode: 0o755 },
    );
    const env = { ...(await devDaemonEnv(root)), PATH: `${bin}:${process.env.PATH ?? ''}` };
    const daemon = runDaemon(env);
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 20));
    const pid = Number((await readFile(started, 'utf8')).trim());
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.exited).code, 0, daemon.output());
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the service it was starting is gone');
  });
});

function whichPodman(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'podman'))) return join(dir, 'podman');
  }
  throw new Error('podman is not on PATH');
}
