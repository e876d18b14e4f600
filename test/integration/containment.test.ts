// Containment that must hold whatever the host's state: a pod's root cannot change the host's device nodes;
// a pod network made by hand (another bridge name) is guarded on the bridge it really has; a flushed table
// or bridge filtering switched off is restored within seconds; and when the rules cannot be restored, the
// pods are cut off and uploads refused until they are back. Traffic goes only to pods, namespaces and
// listeners this test made.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Manifest } from '../../src/domain/types.js';
import { BRIDGE_NF_CALL } from '../../src/firewall/pod-firewall.js';
import { firewallTableName } from '../../src/firewall/ruleset.js';
import { deviceProblems, HOST_DEVICES } from '../../src/host/device-nodes.js';
import { hashManifest } from '../../src/manifest/hash.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { freePort, startDaemon } from '../helpers/daemon.js';
import { createPayingClient } from '../helpers/ilp-client.js';
import { setupMoneyd } from '../helpers/moneyd.js';
import { createTestHost } from '../helpers/netns.js';
import { httpGet, podAddress, podman, setupPodman, waitForHttp } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until, untilAcceptingUploads } from '../helpers/wait.js';

const run = promisify(execFile);
const PRICE_600 = 2_283_106n;

/** Puts back any host device node a broken build changed, so one failure does not break the machine. */
async function restoreHostDevices(): Promise<void> {
  for (const problem of await deviceProblems()) {
    if (problem.found.startsWith('owner')) {
      await run('chown', [problem.path === '/dev/tty' ? 'root:tty' : 'root:root', problem.path]);
      await run('chmod', ['666', problem.path]);
    }
  }
}
after(restoreHostDevices);

await setupMoneyd();
const fixture = await setupPodman();
const probeImage = await fixture.nodeAppImage(
  fileURLToPath(new URL('../../../test/fixtures/probe-pod/', import.meta.url)),
  'probe.mjs',
  [],
);

// A network made by hand, as an operator would: Podman names its bridge podman<N>, not <network>0.
const network = `hm${randomBytes(3).toString('hex')}`;
const subnet = `10.89.${160 + Math.floor(Math.random() * 30)}.0/24`;
await podman(['network', 'create', '--disable-dns', '--subnet', subnet, network]);
const bridge = (await podman(['network', 'inspect', '--format', '{{.NetworkInterface}}', network])).trim();
const table = firewallTableName(network);
after(async () => {
  await podman(['network', 'rm', '--force', network]).catch(() => undefined);
  await run('nft', ['delete', 'table', 'inet', table]).catch(() => undefined);
  await run('ip', ['link', 'delete', bridge]).catch(() => undefined);
});

const lan = await createTestHost({ linkRange: '10.212.0.0/16', routesBack: [subnet] });
await lan.listen([80], []);
const hostListener: Server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.end('host\n');
});
await new Promise<void>((resolve) => hostListener.listen(0, '0.0.0.0', resolve));
after(() => hostListener.close());
const hostPort = (hostListener.address() as { port: number }).port;

// nft as the daemon finds it on PATH: the real one, until the test makes it fail as an unprivileged one would.
const realNft = (await run('sh', ['-c', 'command -v nft'])).stdout.trim();
const tools = await tempDir();
const nftBroken = join(tools, 'broken');
await writeFile(
  join(tools, 'nft'),
  `#!/bin/sh\nif [ -e ${nftBroken} ]; then echo "Error: Operation not permitted" >&2; exit 1; fi\nexec ${realNft} "$@"\n`,
);
await chmod(join(tools, 'nft'), 0o755);
after(() => rm(nftBroken, { force: true }));
const bridgeFiltering = (await readFile(BRIDGE_NF_CALL, 'utf8')).trim();
after(() => writeFile(BRIDGE_NF_CALL, bridgeFiltering));

const root = await tempDir();
fixture.adoptHostId(hostIdFromSecret((await loadOrCreateHostSecret(root)).secret));
const daemon = await startDaemon({
  ...fixture.daemonEnv(root, await freePort()),
  CODIUS_PODMAN_NETWORK: network,
  CODIUS_PODMAN_SUBNET: subnet,
  CODIUS_RECONCILE_INTERVAL: '5',
  PATH: `${tools}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
});
const payer = createPayingClient();
after(() => payer.close());
const gateway = subnet.replace(/\.0\/24$/, '.1');

async function accepting(): Promise<boolean> {
  const info = (await (await fetch(`${daemon.url}/info`)).json()) as { acceptingUploads: boolean };
  return info.acceptingUploads;
}

async function upload(name: string, image: string): Promise<{ hash: string; ip: string }> {
  await untilAcceptingUploads(daemon.url);
  const manifest: Manifest = {
    name: `${name}-${Date.now()}`,
    version: '1.0.0',
    port: '3000',
    containers: [{ id: 'app', image }],
  };
  const paid = await payer.request(`${daemon.url}/pods?duration=600`, {
    method: 'POST',
    body: { manifest },
    maxPrice: PRICE_600,
  });
  assert.equal(paid.status, 200, paid.body);
  const hash = hashManifest(manifest);
  return { hash, ip: await podAddress(hash, network) };
}

const target = await upload('target', fixture.webImage);
const probe = await upload('probe', probeImage);
await waitForHttp(`http://${probe.ip}:3000/`);

async function ask(path: string): Promise<unknown> {
  const answer = await httpGet(`http://${probe.ip}:3000${path}`, 10_000);
  assert.equal(answer?.status, 200, `probe ${path}`);
  return JSON.parse(answer.body) as unknown;
}
const reach = async (host: string, port: number): Promise<string> =>
  ((await ask(`/tcp?host=${host}&port=${port}`)) as { outcome: string }).outcome;

describe('containment on a host in any state', () => {
  it("a pod's root cannot change the host's device nodes, through its stdio or its /dev", async () => {
    const before = await Promise.all(
      [...HOST_DEVICES.keys()].map((path) => run('stat', ['-c', '%u:%g %a %t:%T', path])),
    );
    try {
      const outcomes = (await ask('/tamper')) as Record<string, string>;
      // The host's /dev/null is the pod's stdin, and bound in as its /dev/null: neither may change.
      for (const attempt of [
        'fchmod 0',
        'fchown 0',
        'chmod /proc/self/fd/0',
        'chmod /dev/null',
        'chown /dev/null',
      ]) {
        assert.equal(outcomes[attempt], 'EPERM', attempt);
      }
      for (const device of ['/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']) {
        if (`chmod ${device}` in outcomes) assert.equal(outcomes[`chmod ${device}`], 'EPERM', device);
      }
      const afterwards = await Promise.all(
        [...HOST_DEVICES.keys()].map((path) => run('stat', ['-c', '%u:%g %a %t:%T', path])),
      );
      assert.deepEqual(
        afterwards.map((r) => r.stdout),
        before.map((r) => r.stdout),
      );
      assert.deepEqual(await deviceProblems(), []);
    } finally {
      await restoreHostDevices();
    }
  });

  it('guards a network made by hand on the bridge it really has', async () => {
    assert.match(bridge, /^podman\d+$/);
    const listing = (await run('nft', ['list', 'table', 'inet', table])).stdout;
    assert.match(listing, new RegExp(`iifname "${bridge}" oifname "${bridge}" drop`));
    assert.equal(await reach(target.ip, 3000), 'timeout', 'pod → another pod');
    assert.equal(await reach(gateway, hostPort), 'timeout', 'pod → this host on its gateway address');
    assert.equal(await reach(lan.hostSide, hostPort), 'timeout', 'pod → this host on its LAN address');
    assert.equal(await reach(lan.address, 80), 'timeout', 'pod → a LAN host');
    assert.equal((await httpGet(`http://${target.ip}:3000/`))?.status, 200, 'this host → pod (the proxy)');
  });

  it('restores flushed rules and bridge filtering switched off within seconds', async (t) => {
    await run('nft', ['flush', 'chain', 'inet', table, 'forward']);
    await writeFile(BRIDGE_NF_CALL, '0');
    const started = Date.now();
    await until(
      'the rules and the sysctl are restored',
      async () =>
        (await readFile(BRIDGE_NF_CALL, 'utf8')).trim() === '1' &&
        /oifname "podman\d+" drop/.test((await run('nft', ['list', 'table', 'inet', table])).stdout),
      15_000,
    );
    t.diagnostic(`restored after ${Date.now() - started} ms`);
    assert.equal(await reach(lan.address, 80), 'timeout', 'pod → a LAN host, after the restore');
    await daemon.waitForOutput(/pod firewall was not in place; re-applying it/);
  });

  it('cuts the pods off and refuses uploads while the rules cannot be restored, and reconnects them after', async (t) => {
    await writeFile(nftBroken, '');
    await run('nft', ['flush', 'chain', 'inet', table, 'forward']);
    const started = Date.now();
    await until(
      'the pod bridge is down',
      async () => (await run('ip', ['-o', 'link', 'show', 'dev', bridge])).stdout.includes('state DOWN'),
      15_000,
    );
    t.diagnostic(`pods cut off ${Date.now() - started} ms after the rules were flushed`);
    assert.equal(await httpGet(`http://${probe.ip}:3000/`, 1000), null, 'no packet reaches a pod');
    await until('uploads are refused', async () => !(await accepting()), 15_000);
    await rm(nftBroken);
    await until(
      'the pods are back on the network',
      async () => (await httpGet(`http://${probe.ip}:3000/`, 1000))?.status === 200,
      20_000,
    );
    assert.match((await run('nft', ['list', 'table', 'inet', table])).stdout, /oifname "podman\d+" drop/);
    assert.equal(await reach(lan.address, 80), 'timeout', 'pod → a LAN host, once back');
    await untilAcceptingUploads(daemon.url);
  });
});
