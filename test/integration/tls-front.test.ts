import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostInfo } from '../../src/domain/types.js';
import { createIlpPlugin } from '../../src/ilp/plugin.js';
import { SELF_TEST_IMAGE_NAME } from '../../src/self-test/image.js';
import { paidRequest } from '../../src/self-test/paid-request.js';
import { firstWebSocketMessage, publicRequest } from '../../src/self-test/public-client.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACTS_DIR } from '../helpers/browser.js';
import { freePort, runDaemon, startDaemon } from '../helpers/daemon.js';
import { setupMoneyd, testBtpCredentials } from '../helpers/moneyd.js';
import { startNginxFront, wildcardCertificate } from '../helpers/nginx-front.js';
import { podman, removeSelfTestImagesAfter, setupPodman } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { adoptHostOf } from '../helpers/pod-fixture.js';

const fixture = await setupPodman();
await setupMoneyd();
removeSelfTestImagesAfter();

const HOST = 'codius.test';
const dir = await tempDir();
const certificate = await wildcardCertificate(dir, HOST);
const httpsPort = await freePort();
const codiusdPort = await freePort();
const httpPort = await freePort();
await startNginxFront({ dir, host: HOST, httpsPort, httpPort, codiusdPort, certificate });
const publicUri = `https://${HOST}:${httpsPort}`;
const nginx = { host: '127.0.0.1', port: httpsPort };
const reach = { connectTo: nginx, timeoutMs: 10_000, ca: certificate.ca };

const root = await tempDir();
await writeFile(`${dir}/ca-only.pem`, certificate.ca);
await adoptHostOf(fixture, root);
// A production host behind nginx, as real Codius hosts run: the self test goes out through nginx over
// https and wss (the host trusts the test CA as an operator's machine trusts a real one).
const hostEnv = {
  CODIUS_PUBLIC_URI: publicUri,
  CODIUS_PORT: String(codiusdPort),
  CODIUS_ROOT: root,
  CODIUS_BOOTSTRAP_PEERS: '[]',
  ...fixture.podmanEnv,
  CODIUS_SELF_TEST_ADDRESS: `127.0.0.1:${httpsPort}`,
  CODIUS_SELF_TEST_INTERVAL: '1',
  CODIUS_SELF_TEST_REPEAT: '0',
  ILP_CREDENTIALS: JSON.stringify(testBtpCredentials()),
  NODE_EXTRA_CA_CERTS: `${dir}/ca-only.pem`,
};
const daemon = await startDaemon(hostEnv);

async function info(): Promise<HostInfo> {
  return JSON.parse((await publicRequest(`${publicUri}/info`, { ...reach, method: 'GET' })).body) as HostInfo;
}

describe('the production front: nginx with a wildcard certificate before codiusd (contrib/nginx)', () => {
  it('passes the self test through nginx over https and wss', async () => {
    const deadline = Date.now() + 120_000;
    while (!(await info()).selfTestSuccess) {
      assert.ok(Date.now() < deadline, `self test did not pass:\n${daemon.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await daemon.waitForOutput(/self test passed/);
  });

  it('takes a paid upload over https and serves the pod at https://<hash>.host and wss://<hash>.host', async () => {
    const image = (
      await podman(['images', '--digests', '--format', '{{.Repository}}@{{.Digest}}', SELF_TEST_IMAGE_NAME])
    )
      .split('\n')
      .filter(Boolean)[0];
    assert.ok(image, 'the self test imported its image');
    const manifest = {
      name: 'through-nginx',
      version: '1.0.0',
      port: '3000',
      containers: [{ id: 'app', image, environment: { PORT: '3000' } }],
    };
    const upload = await paidRequest(`${publicUri}/pods?duration=300`, {
      ...reach,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ manifest }),
      timeoutMs: 90_000,
      maxAmount: 1_141_553n,
      plugin: () =>
        createIlpPlugin({ plugin: 'ilp-plugin-btp', credentials: testBtpCredentials(), btpServer: null }),
    });
    assert.equal(upload.status, 200, `${upload.body}\n${daemon.output().slice(-2500)}`);
    assert.equal(upload.sent, 1_141_553n, 'paid through nginx');
    const { url, manifestHash } = JSON.parse(upload.body) as { url: string; manifestHash: string };
    assert.equal(url, `https://${manifestHash}.${HOST}:${httpsPort}/`);
    // The pod's program may still be starting when the upload is answered (as the self test, try again).
    let page = await publicRequest(url, { ...reach, method: 'GET' });
    for (let attempt = 0; page.status === 502 && attempt < 50; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      page = await publicRequest(url, { ...reach, method: 'GET' });
    }
    assert.equal(page.status, 200);
    // nginx passes $host: the name without the port, as a real host on port 443 sends it.
    assert.deepEqual(JSON.parse(page.body), { imageUploaded: true, host: `${manifestHash}.${HOST}` });
    assert.deepEqual(JSON.parse(await firstWebSocketMessage(url, reach)), { websocketEnabled: true });
    // Without the test CA the certificate is not trusted; plain http is sent to https.
    await assert.rejects(publicRequest(url, { ...reach, ca: 'not a certificate', method: 'GET' }));
    const plain = await publicRequest(url.replace('https:', 'http:'), {
      method: 'GET',
      connectTo: { host: '127.0.0.1', port: httpPort },
      timeoutMs: 5_000,
    });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, `https://${manifestHash}.${HOST}/`);
  });

  it('codiusd doctor: a healthy host passes (exit 0), a broken one fails each check it breaks (exit 1)', async () => {
    const doctor = (env: Record<string, string>) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = runDaemon(env, ['doctor']);
        void child.exited.then(({ code }) => resolve({ code, stdout: child.output() }));
      });
    const healthy = await doctor(hostEnv);
    await writeFile(join(ARTIFACTS_DIR, 'doctor-healthy.txt'), healthy.stdout);
    assert.equal(healthy.code, 0, healthy.stdout);
    assert.match(healthy.stdout, /✓ Pod firewall .*forward and input hooked/);
    assert.match(healthy.stdout, /✓ TLS certificate +covers codius\.test and \*\.codius\.test/);
    assert.match(healthy.stdout, /✓ Public URI .* reach this codiusd/);
    assert.match(healthy.stdout, /! ILP provider .*play money/);
    const broken = await doctor({
      ...hostEnv,
      CODIUS_PODMAN_SOCKET: join(dir, 'no-podman.sock'),
      CODIUS_PODMAN_NETWORK: 'nosuchnet',
      CODIUS_SELF_TEST_ADDRESS: `127.0.0.1:${await freePort()}`,
      ILP_CREDENTIALS: JSON.stringify({ server: `btp+ws://:x@127.0.0.1:${await freePort()}` }),
    });
    await writeFile(join(ARTIFACTS_DIR, 'doctor-broken.txt'), broken.stdout);
    assert.equal(broken.code, 1, broken.stdout);
    for (const title of [
      'Container runtime',
      'Pod firewall',
      'ILP provider',
      'Public URI',
      'TLS certificate',
    ]) {
      assert.match(broken.stdout, new RegExp(`✗ ${title}`), title);
    }
    process.stdout.write(
      `# doctor output: ${join(ARTIFACTS_DIR, 'doctor-healthy.txt')}, doctor-broken.txt\n`,
    );
  });
});
