import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { PodRequest } from '../../src/domain/types.js';
import { buildPodPlan } from '../../src/manifest/plan.js';
import { mergeLogSources } from '../../src/pods/log-stream.js';
import type { PodRuntime } from '../../src/runtime/driver.js';
import { ImageUnavailableError } from '../../src/runtime/errors.js';
import { describePodNetwork } from '../../src/runtime/pod-network.js';
import { containerName, createPodmanDriver, podName } from '../../src/runtime/podman/driver.js';
import { hardeningFor } from '../../src/runtime/podman/oci-runtime.js';
import { capturingLogger } from '../helpers/logs.js';
import { httpGet, podman, setupPodman, waitForHttp, type PodmanFixture } from '../helpers/podman.js';

const PUBLIC_URI = 'https://codius.example.com';

function webRequest(image: string, extra: Partial<PodRequest['manifest']> = {}): PodRequest {
  return {
    manifest: {
      name: `runtime-test-${randomBytes(4).toString('hex')}`,
      version: '1.0.0',
      port: '3000',
      containers: [{ id: 'web', image, environment: { GREETING: 'hi there' } }],
      ...extra,
    },
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

// At top level, so its cleanup (registered with after()) runs when this file ends, not after a hook.
const fixture: PodmanFixture = await setupPodman();

describe('Podman driver (real pods)', () => {
  const hostId = fixture.newHostId();
  const driver: PodRuntime = fixture.driver(hostId, capturingLogger().logger);

  before(() => driver.prepare());

  it('creates the bridge network once, with its own bridge and subnet', async () => {
    await driver.prepare();
    const [network] = JSON.parse(await podman(['network', 'inspect', fixture.network])) as Array<{
      network_interface: string;
      subnets: Array<{ subnet: string }>;
    }>;
    assert.equal(network?.network_interface, `${fixture.network}0`);
    assert.deepEqual(
      network.subnets.map((s) => s.subnet),
      [fixture.subnet],
    );
  });

  it('runs a pod that serves HTTP on its IP, with the plan environment, names, labels and limits', async () => {
    const plan = buildPodPlan(webRequest(fixture.webImage), { publicUri: PUBLIC_URI });
    const pod = await driver.runPod(plan);
    assert.equal(pod.running, true);
    assert.ok(pod.ip?.startsWith(fixture.subnet.split('.').slice(0, 3).join('.')), `ip ${String(pod.ip)}`);

    assert.match(await waitForHttp(`http://${pod.ip}:3000/`), /hello from a codius test pod/);
    const env = (await httpGet(`http://${pod.ip}:3000/cgi-bin/env`))?.body ?? '';
    assert.match(env, /^CODIUS=true$/m);
    assert.match(env, new RegExp(`^CODIUS_MANIFEST_HASH=${plan.hash}$`, 'm'));
    assert.match(env, /^CODIUS_HOST=https:\/\/codius\.example\.com$/m);
    assert.match(env, /^GREETING=hi there$/m);

    const inspected = JSON.parse(await podman(['pod', 'inspect', podName(plan.hash)])) as {
      Labels: Record<string, string>;
      CgroupPath: string;
      Containers: Array<{ Name: string }>;
    };
    assert.equal(inspected.Labels['codius.manifest-hash'], plan.hash);
    assert.equal(inspected.Labels['codius.host'], hostId);
    assert.ok(inspected.Containers.some((c) => c.Name === containerName(plan.hash, { id: 'web' })));
    assert.equal(containerName(plan.hash, { id: 'web' }), `codius-${plan.hash}-web`);
    // Limits are on the pod's cgroup (cgroup v1 here), shared by its containers like one VM.
    const cgroup = (controller: string, file: string) =>
      readFile(`/sys/fs/cgroup/${controller}${inspected.CgroupPath}/${file}`, 'utf8').then((t) => t.trim());
    assert.equal(await cgroup('memory', 'memory.limit_in_bytes'), String(512 * 2 ** 20));
    assert.equal(await cgroup('cpu', 'cpu.cfs_quota_us'), '100000');
    assert.equal(await cgroup('pids', 'pids.max'), '1024');

    const listed = await driver.listPods();
    assert.deepEqual(
      listed.map((p) => [p.hash, p.running]),
      [[plan.hash, true]],
    );
    assert.deepEqual(await driver.inspectPod(plan.hash), { hash: plan.hash, running: true, ip: pod.ip });

    const started = Date.now();
    await driver.deletePod(plan.hash);
    const teardownMs = Date.now() - started;
    assert.equal(await driver.inspectPod(plan.hash), null);
    // Not probed over HTTP: once the pod is gone its address routes off this machine.
    const leftovers = await podman([
      'ps',
      '--all',
      '--quiet',
      '--filter',
      `label=codius.manifest-hash=${plan.hash}`,
    ]);
    assert.equal(leftovers.trim(), '');
    // Already gone is fine.
    await driver.deletePod(plan.hash);
    assert.ok(teardownMs < 5000, `teardown took ${teardownMs} ms`);
  });

  it('pulls a missing image by digest and replaces a leftover pod of the same hash', async () => {
    const image = await fixture.freshImage();
    const imageExists = () =>
      podman(['image', 'exists', image]).then(
        () => true,
        () => false,
      );
    assert.equal(await imageExists(), false);
    const plan = buildPodPlan(webRequest(image), { publicUri: PUBLIC_URI });
    const first = await driver.runPod(plan);
    assert.equal(await imageExists(), true);
    const second = await driver.runPod(plan);
    assert.equal(second.running, true);
    assert.match(await waitForHttp(`http://${second.ip}:3000/`), /hello/);
    assert.equal((await driver.listPods()).filter((p) => p.hash === plan.hash).length, 1);
    assert.ok(first.ip);
    await driver.deletePod(plan.hash);
  });

  it('fails clearly for an image that does not exist, leaving no pod behind', async () => {
    const plan = buildPodPlan(webRequest(fixture.missingImage), { publicUri: PUBLIC_URI });
    await assert.rejects(driver.runPod(plan), (error: unknown) => {
      assert.ok(error instanceof ImageUnavailableError);
      // The client gets a short reason; the registry's own words (addresses, ports) only reach the log.
      assert.match(error.message, /codius-test\/missing.*not available: not found in its registry$/);
      return true;
    });
    assert.equal(await driver.inspectPod(plan.hash), null);
  });

  it('a container whose command cannot run is a failed start naming it and its exit code, cleaned up', async () => {
    const request = webRequest(fixture.webImage);
    request.manifest.containers[0] = { id: 'web', image: fixture.webImage, command: ['/no/such/binary'] };
    const plan = buildPodPlan(request, { publicUri: PUBLIC_URI });
    // With an init process as PID 1 the exec fails just after the start: the settle time sees it.
    await assert.rejects(driver.runPod(plan), (error: Error) => {
      assert.match(
        error.message,
        /^container web exited with code \d+ right after it started$|no\/such\/binary/,
      );
      return true;
    });
    assert.equal(await driver.inspectPod(plan.hash), null);
  });

  it('a container that exits within its first seconds is a failed start too', async () => {
    const request = webRequest(fixture.webImage);
    request.manifest.containers[0] = {
      id: 'quitter',
      image: fixture.webImage,
      command: ['/bin/busybox', 'sh', '-c', 'sleep 0.3; exit 3'],
    };
    const plan = buildPodPlan(request, { publicUri: PUBLIC_URI });
    await assert.rejects(
      driver.runPod(plan),
      /^Error: container quitter exited with code 3 right after it started$|container quitter exited with code 3/,
    );
    assert.equal(await driver.inspectPod(plan.hash), null);
  });

  it('streams stdout and stderr logs of every container, named by manifest container id', async () => {
    const request = webRequest(fixture.webImage);
    request.manifest.containers = [
      {
        id: 'talker',
        image: fixture.webImage,
        command: ['/bin/sh', '-c', 'echo out-1; echo err-1 >&2; printf "two\\nlines\\n"; exec sleep 600'],
      },
      { id: 'web', image: fixture.webImage },
    ];
    const plan = buildPodPlan(request, { publicUri: PUBLIC_URI });
    await driver.runPod(plan);
    // Wait for the shell to have written its lines.
    let text = '';
    for (let i = 0; i < 50 && !text.includes('lines'); i += 1) {
      const sources = await driver.openLogs(plan.hash, {
        follow: false,
        signal: new AbortController().signal,
      });
      assert.ok(sources);
      text = await readAll(mergeLogSources(sources, { follow: false }));
      if (!text.includes('lines')) await new Promise((r) => setTimeout(r, 100));
    }
    const lines = text.split('\n').filter((l) => l.startsWith('talker '));
    // stdout and stderr are separate pipes: order is kept within each, not across them.
    assert.deepEqual(
      lines.filter((l) => l.startsWith('talker stdout')),
      ['talker stdout out-1', 'talker stdout two', 'talker stdout lines'],
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith('talker stderr')),
      ['talker stderr err-1'],
    );
    assert.equal(
      await driver.openLogs('a'.repeat(52), { follow: false, signal: new AbortController().signal }),
      null,
    );
    await driver.deletePod(plan.hash);
  });

  it('reports what it pulled, removes an image only once no container uses it', async () => {
    const image = await fixture.freshImage();
    const plan = buildPodPlan(webRequest(image), { publicUri: PUBLIC_URI });
    const pod = await driver.runPod(plan);
    assert.deepEqual(pod.pulledImages, [image]);
    assert.equal(await driver.removeImage(image), 'in-use');
    await driver.deletePod(plan.hash);
    assert.equal(await driver.removeImage(image), 'removed');
    assert.equal(await driver.removeImage(image), 'missing');
  });

  it('refuses a service that runs another OCI runtime than the one configured', async () => {
    const gvisor = createPodmanDriver({
      client: fixture.client,
      network: describePodNetwork(fixture.network, fixture.subnet),
      hostId,
      pullTimeoutMs: 30_000,
      hardening: hardeningFor('runsc'),
      ociRuntime: 'runsc',
      logger: capturingLogger().logger,
    });
    await assert.rejects(
      gvisor.prepare(),
      /CODIUS_OCI_RUNTIME=runsc, but the Podman service runs containers under runc/,
    );
  });
});
