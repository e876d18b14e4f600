// The pod sandbox with real pods: a probe pod tries every path out of the sandbox against targets this
// test made itself (another pod, a listener on this machine, a "LAN" and an "internet" host in network
// namespaces of its own), before and after codiusd is killed and restarted; what the pod may do as root;
// a pod under gVisor behind the proxy; log followers that cannot starve uploads. No packet goes anywhere
// this test did not create.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request, type ClientRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Manifest } from '../../src/domain/types.js';
import { firewallTableName } from '../../src/firewall/ruleset.js';
import { hashManifest } from '../../src/manifest/hash.js';
import { containerName, POD_CAPABILITIES } from '../../src/runtime/podman/specs.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { freePort, runDaemon, startDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { createPayingClient } from '../helpers/ilp-client.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { httpGet, podAddress, podman, setupPodman, waitForHttp } from '../helpers/podman.js';
import { createTestHost } from '../helpers/netns.js';
import { officialLikeNginxImage } from '../helpers/nginx-image.js';
import { tempDir } from '../helpers/tmp.js';
import { untilAcceptingUploads } from '../helpers/wait.js';
import { adoptHostOf } from '../helpers/pod-fixture.js';

const run = promisify(execFile);
await setupMoneyd();
const fixture = await setupPodman();
const probeImage = await fixture.nodeAppImage(
  fileURLToPath(new URL('../../../test/fixtures/probe-pod/', import.meta.url)),
  'probe.mjs',
  [],
);
const table = firewallTableName(fixture.network);
const gateway = fixture.subnet.replace(/\.0\/\d+$/, '.1');
const PRICE_600 = 2_283_106n;

// The "internet": an address of TEST-NET-3 in a namespace, through a veth in TEST-NET-2; the "LAN": a 10/8
// address. Each is picked where this machine has no address, route or resolver of its own.
const internet = await createTestHost({ linkRange: '198.51.100.0/24', addressRange: '203.0.113.0/24' });
const lan = await createTestHost({ linkRange: '10.211.0.0/16', routesBack: [fixture.subnet] });
const INTERNET_TCP = [80, 25, 465, 587, 5060];
await internet.listen(INTERNET_TCP, [5060, 5353]);
await lan.listen([80], []);
// A listener on every address of this machine: pods must reach none of them.
const hostListener: Server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.end('host\n');
});
await new Promise<void>((resolve) => hostListener.listen(0, '0.0.0.0', resolve));
after(() => hostListener.close());
const hostPort = (hostListener.address() as { port: number }).port;

const root = await tempDir();
await adoptHostOf(fixture, root);
const port = await freePort();
const env = {
  ...fixture.daemonEnv(root, port),
  CODIUS_RECONCILE_INTERVAL: '5',
};
let daemon: DaemonProcess & { url: string } = await startDaemon(env);
const payer = createPayingClient();
after(() => payer.close());

function manifest(name: string, image: string, extra: Partial<Manifest> = {}): Manifest {
  return {
    name: `${name}-${Date.now()}`,
    version: '1.0.0',
    port: '3000',
    containers: [{ id: 'app', image }],
    ...extra,
  };
}

async function upload(pod: Manifest): Promise<{ hash: string; ip: string }> {
  await untilAcceptingUploads(daemon.url);
  const paid = await payer.request(`${daemon.url}/pods?duration=600`, {
    method: 'POST',
    body: { manifest: pod },
    maxPrice: PRICE_600,
  });
  assert.equal(paid.status, 200, paid.body);
  const hash = hashManifest(pod);
  const ip = await podAddress(hash, fixture.network);
  assert.ok(ip, 'the pod has an address');
  return { hash, ip };
}

/** GET through codiusd with the Host header of a pod hostname (fetch may not set Host). */
function getVia(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const target = await upload(manifest('target', fixture.webImage));
const probe = await upload(manifest('probe', probeImage));
await waitForHttp(`http://${probe.ip}:3000/`);

async function ask(path: string): Promise<string> {
  const answer = await httpGet(`http://${probe.ip}:3000${path}`, 5000);
  assert.equal(answer?.status, 200, `probe ${path}`);
  return (JSON.parse(answer.body) as { outcome: string }).outcome;
}

/** Path → what the firewall must do, and how the probe sees it. */
const PATHS: Array<[string, string, RegExp]> = [
  ['pod → another pod, its HTTP port', `/tcp?host=${target.ip}&port=3000`, /^timeout$/],
  ['pod → another pod, any port', `/tcp?host=${target.ip}&port=22`, /^timeout$/],
  ['pod → the gateway (this host)', `/tcp?host=${gateway}&port=${hostPort}`, /^timeout$/],
  ['pod → this host on its LAN address', `/tcp?host=${lan.hostSide}&port=${hostPort}`, /^timeout$/],
  ['pod → this host on its uplink address', `/tcp?host=${internet.hostSide}&port=${hostPort}`, /^timeout$/],
  ['pod → a LAN host (10/8)', `/tcp?host=${lan.address}&port=80`, /^timeout$/],
  ['pod → an internet host, HTTP', `/tcp?host=${internet.address}&port=80`, /^connected$/],
  ['pod → an internet host, SMTP 25', `/tcp?host=${internet.address}&port=25`, /^refused$/],
  ['pod → an internet host, submission 465', `/tcp?host=${internet.address}&port=465`, /^refused$/],
  ['pod → an internet host, submission 587', `/tcp?host=${internet.address}&port=587`, /^refused$/],
  ['pod → an internet host, SIP 5060/tcp', `/tcp?host=${internet.address}&port=5060`, /^refused$/],
  [
    'pod → an internet host, SIP 5060/udp',
    `/udp?host=${internet.address}&port=5060`,
    /^(refused|no answer)$/,
  ],
  ['pod → an internet host, other UDP', `/udp?host=${internet.address}&port=5353`, /^answered$/],
];

async function assertContained(when: string): Promise<void> {
  const outcomes = await Promise.all(PATHS.map(([, path]) => ask(path)));
  PATHS.forEach(([name, , expected], i) => assert.match(outcomes[i] ?? '', expected, `${when}: ${name}`));
  // Inbound from the LAN to a pod: only the host itself (the proxy) may open connections to pods.
  const inbound = await lan
    .exec(process.execPath, [
      '-e',
      `const s=require('net').connect(3000,'${probe.ip}');s.setTimeout(2000,()=>{console.log('timeout');process.exit()});s.on('connect',()=>{console.log('connected');process.exit()});s.on('error',e=>{console.log(e.code);process.exit()})`,
    ])
    .then((out) => out.trim());
  assert.equal(inbound, 'timeout', `${when}: LAN → pod`);
  assert.equal(
    (await httpGet(`http://${target.ip}:3000/`))?.status,
    200,
    `${when}: this host → pod (the proxy's path)`,
  );
}

describe('pod sandbox on real pods', () => {
  it('contains a pod: no other pod, host, LAN or private range, no mail or SIP; the internet is open', async () => {
    await assertContained('running');
    const listing = (await run('nft', ['list', 'table', 'inet', table])).stdout;
    assert.match(listing, /iifname "ct[0-9a-f]+0" oifname "ct[0-9a-f]+0" drop/);
  });

  it('confines a pod as root: own user namespace, no new privileges, minimal capabilities, read-only root', async () => {
    const answer = await httpGet(`http://${probe.ip}:3000/self`);
    const self = JSON.parse(answer?.body ?? '{}') as {
      uidMap: number[];
      uid: number;
      noNewPrivs: string;
      capEff: string;
      writable: Record<string, boolean>;
      hostDevices: string[];
      shipped: string | null;
    };
    assert.equal(self.uid, 0, 'the app runs as root of its pod');
    assert.equal(self.uidMap[0], 0);
    assert.notEqual(self.uidMap[1], 0, 'pod root is not host root');
    assert.ok((self.uidMap[2] ?? 0) <= 65_536, 'and maps only its own range');
    assert.equal(self.noNewPrivs, '1');
    const expectedCaps = POD_CAPABILITIES.length;
    assert.equal(BigInt(`0x${self.capEff}`).toString(2).replace(/0/g, '').length, expectedCaps);
    assert.deepEqual(self.writable, {
      '/': false,
      '/app': false,
      '/etc': false,
      '/tmp': true,
      '/var/cache': true,
      '/run': true,
    });
    assert.equal(
      self.shipped,
      'from the image\n',
      'the writable /var/cache still holds what the image ships there',
    );
    assert.deepEqual(self.hostDevices, []);
  });

  it('still runs images laid out like the official nginx, node and busybox ones', async () => {
    const nginx = await upload(manifest('nginx', await officialLikeNginxImage(fixture)));
    assert.match(await waitForHttp(`http://${nginx.ip}:3000/`), /Welcome to nginx in a Codius pod/);
    // node: the probe pod itself; busybox httpd: the target pod.
    assert.equal((await httpGet(`http://${probe.ip}:3000/`))?.status, 200);
    assert.match(await waitForHttp(`http://${target.ip}:3000/`), /hello from a codius test pod/);
  });

  it('keeps the rules after kill -9 of codiusd, and after a restart re-applies a removed table', async () => {
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await assertContained('after kill -9');
    daemon = await startDaemon(env);
    await assertContained('after a restart');
    await run('nft', ['delete', 'table', 'inet', table]);
    for (
      let i = 0;
      i < 150 &&
      (await run('nft', ['list', 'table', 'inet', table]).then(
        () => false,
        () => true,
      ));
      i += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await assertContained('after the table was removed and re-applied');
    await daemon.waitForOutput(/pod firewall was not in place; re-applying it/);
  });

  it('refuses a registry on a loopback address before payment, with a short reason', async () => {
    const local = `127.0.0.1:${await freePort()}/x/y@sha256:${'0'.repeat(64)}`;
    const response = await fetch(`${daemon.url}/pods?duration=60`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Pay-Token': Buffer.alloc(16, 7).toString('base64') },
      body: JSON.stringify({ manifest: manifest('loopback', local) }),
    });
    assert.equal(response.status, 422);
    assert.equal(response.headers.get('pay'), null);
    assert.match(
      ((await response.json()) as { message: string }).message,
      /its registry 127\.0\.0\.1:\d+ is not a public address$/,
    );
  });

  it('refuses images this host holds by ID or short name, and never runs a stored image under another name', async () => {
    const id = (await podman(['image', 'inspect', '--format', '{{.Id}}', fixture.webImage])).trim();
    const digest = fixture.webImage.split('@')[1] ?? '';
    const attempt = (image: string) =>
      fetch(`${daemon.url}/pods?duration=60`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Pay-Token': randomBytes(16).toString('base64') },
        body: JSON.stringify({ manifest: manifest('stored', image) }),
      });
    for (const image of [`sha256:${id}`, id, id.slice(0, 12)]) {
      const response = await attempt(image);
      assert.equal(response.status, 422, image);
      assert.equal(response.headers.get('pay'), null);
      assert.match(
        ((await response.json()) as { message: string }).message,
        /an image ID is not a reference/,
      );
    }
    const unpinned = await attempt('codius-test/web');
    assert.equal(unpinned.status, 422);
    assert.match(((await unpinned.json()) as { message: string }).message, /not pinned by digest/);
    // The stored image's digest under a name its registry does not have: pulled by that name, so not found.
    const renamed = await payer.request(`${daemon.url}/pods?duration=600`, {
      method: 'POST',
      body: { manifest: manifest('renamed', `${fixture.registry}/codius-test/not-pushed@${digest}`) },
      maxPrice: PRICE_600,
    });
    assert.equal(renamed.status, 422, renamed.body);
    assert.match(renamed.body, /not found in its registry/);
  });

  it('bounds log followers: 4 on one pod, 429 beyond, while another upload goes through', async () => {
    const debug = await upload(manifest('debug', fixture.webImage, { debug: true }));
    const open: ClientRequest[] = [];
    after(() => {
      for (const req of open) req.destroy();
    });
    const follow = (): Promise<{ status: number; retryAfter: string | undefined }> =>
      new Promise((resolve) => {
        const req = request(
          `${daemon.url}/pods/${debug.hash}/logs?follow=true`,
          { timeout: 20_000 },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
          },
        );
        open.push(req);
        req.on('timeout', () => resolve({ status: -1, retryAfter: undefined }));
        req.on('error', () => resolve({ status: -2, retryAfter: undefined }));
        req.end();
      });
    const followers = await Promise.all(Array.from({ length: 40 }, follow));
    const statuses = followers.map((f) => f.status).sort((x, y) => x - y);
    assert.equal(followers.filter((f) => f.status === 200).length, 4, statuses.join(','));
    const refused = followers.filter((f) => f.status === 429);
    assert.equal(refused.length, 36, statuses.join(','));
    assert.equal(refused[0]?.retryAfter, '10');
    // The control plane is not starved: a paid upload of another pod is served while they follow.
    const other = await upload(manifest('while-following', fixture.webImage));
    assert.equal((await httpGet(`http://${other.ip}:3000/`))?.status, 200);
    for (const req of open) req.destroy();
  });

  it('refuses to start in production when the firewall cannot be applied, and says what is missing', async () => {
    const other = await tempDir();
    const refused = runDaemon({
      ...env,
      CODIUS_ROOT: other,
      CODIUS_PORT: String(await freePort()),
      // Without /usr/sbin (no nft); with the directory of the Node.js running the suite (bin/codiusd's node).
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    });
    const exit = await refused.exited;
    assert.equal(exit.code, 1);
    assert.match(refused.output(), /will not run pods without their firewall: nft is not installed/);
  });
});

describe('gVisor (CODIUS_OCI_RUNTIME=runsc)', () => {
  it('runs a pod under runsc and serves it through the proxy', async () => {
    const gvisorRoot = await tempDir();
    const gvisorHost = hostIdFromSecret((await loadOrCreateHostSecret(gvisorRoot)).secret);
    const gvisor = await startDaemon({
      ...env,
      CODIUS_ROOT: gvisorRoot,
      CODIUS_PORT: String(await freePort()),
      CODIUS_PODMAN_SOCKET: '',
      CODIUS_OCI_RUNTIME: 'runsc',
      // An ILP account of its own: two hosts on one account would take each other's payments.
      ILP_CREDENTIALS: JSON.stringify(testBtpCredentials()),
      CONTAINERS_REGISTRIES_CONF: process.env.CONTAINERS_REGISTRIES_CONF ?? '',
    });
    const previous = daemon;
    daemon = gvisor;
    try {
      const pod = manifest('gvisor', probeImage);
      const { hash } = await upload(pod);
      // A Node app takes a moment to listen, longer under gVisor: ask through the proxy until it answers.
      let proxied = await getVia(`${gvisor.url}/self`, `${hash}.codius.example.com`);
      for (let i = 0; i < 100 && proxied.status === 502; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        proxied = await getVia(`${gvisor.url}/self`, `${hash}.codius.example.com`);
      }
      assert.equal(proxied.status, 200, proxied.body);
      const self = JSON.parse(proxied.body) as {
        kernel: string;
        writable: Record<string, boolean>;
        shipped: string | null;
      };
      assert.equal(self.kernel, '4.4.0', "gVisor's own kernel answers, not the host's");
      // The root filesystem is an overlay in the sandbox's memory: writable, with the image's files.
      assert.ok(Object.values(self.writable).every(Boolean), JSON.stringify(self.writable));
      assert.equal(self.shipped, 'from the image\n');
      const upperDir = await podman([
        'inspect',
        containerName(hash, { id: 'app' }),
        '--format',
        '{{.GraphDriver.Data.UpperDir}}',
      ]);
      const onDisk = await readdir(upperDir.trim());
      assert.ok(!onDisk.includes('.probe'), "the pod's writes stay in its sandbox, not on the host's disk");
    } finally {
      daemon = previous;
      // Its pods run under the runsc wrapper in its data directory: remove them before the directory goes.
      await fixture.removePodsOf(gvisorHost);
      gvisor.child.kill('SIGTERM');
      await gvisor.exited;
    }
  });
});
