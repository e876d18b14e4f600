// End to end with the published Codius CLI (codius@3.1.0, run by scripts/codius): a real bin/codiusd
// process in dev mode on real Podman and a real `moneyd local`, an image pulled by digest from a loopback
// registry, and the pod reached through codiusd's proxy over HTTP and WebSocket.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { hashManifest } from '../../src/manifest/index.js';
import { LABEL_MANIFEST_HASH } from '../../src/runtime/podman/driver.js';
import type { JWK } from '@interledger/http-signature-utils';
import { writeOpenPaymentsKey } from '../../src/payments/open-payments/keygen.js';
import { freePort, startDaemon } from '../helpers/daemon.js';
import { startFakeProvider } from '../helpers/open-payments/provider.js';
import { setupMoneyd } from '../helpers/moneyd.js';
import { podman, setupPodman } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { runCommand, type CommandResult } from '../helpers/run-command.js';
import { until } from '../helpers/wait.js';
import { adoptHostOf, podServerImage } from '../helpers/pod-fixture.js';

const CODIUS = fileURLToPath(new URL('../../../scripts/codius', import.meta.url));
const HELLO_EXAMPLE = fileURLToPath(new URL('../../../examples/hello/', import.meta.url));
/** What every CLI run passes: the moneyd-local asset, so the CLI needs no price API on the internet. */
const PRICE_FLAGS = ['--units', 'XRP', '--max-monthly-rate', '10', '--assume-yes'];

await setupMoneyd();
const fixture = await setupPodman();
const podImage = await podServerImage(fixture);

const root = await tempDir();
await adoptHostOf(fixture, root);
const port = await freePort();
// The host takes Open Payments too: the published CLI knows nothing of it and pays over STREAM as ever.
const provider = await startFakeProvider();
const keyFile = join(root, 'open-payments.pem');
const hostKey = await writeOpenPaymentsKey(keyFile);
const hostWallet = provider.wallet('cli-host', {
  assetCode: 'XRP',
  assetScale: 9,
  keys: [hostKey.jwk as unknown as JWK],
});
// The quick start's daemon, with the test's own Podman network and debug logs (to look for secrets in).
const daemon = await startDaemon({
  CODIUS_OPEN_PAYMENTS_WALLET: hostWallet.id,
  CODIUS_OPEN_PAYMENTS_KEY_ID: hostKey.keyId,
  CODIUS_OPEN_PAYMENTS_PRIVATE_KEY: keyFile,
  CODIUS_DEV: 'true',
  CODIUS_ROOT: root,
  CODIUS_PORT: String(port),
  CODIUS_BOOTSTRAP_PEERS: '[]',
  CODIUS_LOG_LEVEL: 'debug',
  CODIUS_PODMAN_NETWORK: fixture.network,
  CODIUS_PODMAN_SUBNET: fixture.subnet,
  CONTAINERS_REGISTRIES_CONF: process.env.CONTAINERS_REGISTRIES_CONF ?? '',
});
const host = daemon.url;
const podDomain = `local.codius.org:${port}`;

type CliRun = CommandResult;

/** Runs the CLI in `cwd` like a user would, with a home of its own; resolves when it exits. */
function codius(cwd: string, args: string[]): Promise<CliRun> {
  return runCommand(CODIUS, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd },
    timeoutMs: 60_000,
  });
}

/**
 * The CLI exits 0 even when the host refused. Without a terminal its spinner prints nothing, so success is
 * its printout of the host's answer (with what it paid), and no failure printout (statusCode, error).
 */
function assertSucceeded(run: CliRun, what: string): void {
  assert.equal(run.code, 0, `${what}:\n${run.output}`);
  assert.match(
    run.output,
    /manifestHash: "[a-z2-7]{52}"[^]*pricePaid: "[1-9]\d*"/,
    `${what}:\n${run.output}`,
  );
  assert.doesNotMatch(run.output, /statusCode|error/i, `${what}:\n${run.output}`);
}

/** GET through codiusd with the pod's Host header, as a browser on `<hash>.<host>` would. */
function viaProxy(hash: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${host}${path}`,
      { headers: { Host: `${hash}.${podDomain}` }, agent: false },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function podInfo(hash: string): Promise<{ status: number; body: string; expiry: number }> {
  const response = await fetch(`${host}/pods?manifestHash=${hash}`);
  const body = await response.text();
  const expiry = response.status === 200 ? Date.parse((JSON.parse(body) as { expiry: string }).expiry) : NaN;
  return { status: response.status, body, expiry };
}

async function runtimePods(hash: string): Promise<string[]> {
  const ids = await podman(['pod', 'ps', '-q', '--filter', `label=${LABEL_MANIFEST_HASH}=${hash}`]);
  return ids.split('\n').filter(Boolean);
}

/** Every byte codiusd keeps under its root: the sqlite store and its WAL, the secret, Podman's files. */
async function filesUnder(dir: string): Promise<Buffer[]> {
  const contents: Buffer[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if ((await stat(path)).isFile()) contents.push(await readFile(path));
  }
  return contents;
}

await until(
  'the host accepts uploads',
  async () =>
    ((await (await fetch(`${host}/info`)).json()) as { acceptingUploads: boolean }).acceptingUploads,
  20_000,
  200,
);

// The README example's image; removed after the fixture has removed the pods.
const helloImage = `localhost/codius-test/hello:${randomBytes(4).toString('hex')}`;
after(() => podman(['rmi', '--force', '--ignore', helloImage]).then(() => undefined));

describe('the published Codius CLI against codiusd', () => {
  // Before the fixture's cleanup (top-level hooks), so codiusd does not see its pods go.
  after(async () => {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });

  it('prints the development banner with the address and an upload command', async () => {
    await daemon.waitForOutput(/scripts\/codius upload --host/);
    assert.match(daemon.output(), /running in DEVELOPMENT mode/);
    assert.ok(daemon.output().includes(`API and status page  ${host}/`));
    assert.ok(daemon.output().includes(`scripts/codius upload --host ${host} --units XRP`));
  });

  it('uploads, extends and extends by hash; the pod serves both variables over HTTP and WebSocket, keeps the private one sealed, and is gone after expiry', async () => {
    const project = await tempDir('codiusd-cli-');
    const greeting = `hello from the CLI ${randomBytes(4).toString('hex')}`;
    const secret = `private-${randomBytes(12).toString('hex')}`;
    await writeFile(
      join(project, 'codius.json'),
      JSON.stringify({
        manifest: {
          name: `cli-e2e-${randomBytes(4).toString('hex')}`,
          version: '1.0.0',
          port: '3000',
          containers: [
            {
              id: 'app',
              image: podImage,
              environment: { GREETING: '$GREETING', TOKEN: '$TOKEN' },
            },
          ],
        },
      }),
    );
    await writeFile(
      join(project, 'codiusvars.json'),
      JSON.stringify({
        vars: { public: { GREETING: { value: greeting } }, private: { TOKEN: { value: secret } } },
      }),
    );

    // Paid time: 12 s, then 6 s and 4 s more; the checks below take a few seconds.
    const before = Date.now();
    const upload = await codius(project, ['upload', '--host', host, '--duration', '12', ...PRICE_FLAGS]);
    assertSucceeded(upload, 'upload');
    const state = JSON.parse(await readFile(join(project, 'default.codiusstate.json'), 'utf8')) as {
      manifestHash: string;
      generatedManifest: { manifest: Parameters<typeof hashManifest>[0] };
    };
    const hash = state.manifestHash;
    assert.equal(hash, hashManifest(state.generatedManifest.manifest), 'the host hashed as the client');
    assert.ok(upload.output.includes(`manifestHash: "${hash}"`), upload.output);
    const uploaded = await podInfo(hash);
    assert.equal(uploaded.status, 200, uploaded.body);
    assert.ok(uploaded.expiry >= before + 12_000 && uploaded.expiry <= Date.now() + 12_000);

    const extend = await codius(project, ['extend', '--duration', '6', ...PRICE_FLAGS]);
    assertSucceeded(extend, 'extend');
    assert.equal((await podInfo(hash)).expiry, uploaded.expiry + 6_000, 'extend added 6 s');

    const byHash = await codius(project, [
      'extend-hash',
      hash,
      '--host',
      host,
      '--duration',
      '4',
      ...PRICE_FLAGS,
    ]);
    assertSucceeded(byHash, 'extend-hash');
    const extended = await podInfo(hash);
    assert.equal(extended.expiry, uploaded.expiry + 10_000, 'extend-hash added 4 s more');

    const query = `?name=GREETING&name=TOKEN`;
    const http = await viaProxy(hash, `/env${query}`);
    assert.equal(http.status, 200, http.body);
    assert.deepEqual(JSON.parse(http.body), { GREETING: greeting, TOKEN: secret });

    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws${query}`, {
      headers: { Host: `${hash}.${podDomain}` },
    });
    const hello = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data: Buffer) => resolve(data.toString('utf8')));
      socket.once('error', reject);
    });
    socket.close();
    assert.deepEqual((JSON.parse(hello) as { env: unknown }).env, { GREETING: greeting, TOKEN: secret });

    // The private value reached the pod, and nothing else: not the host's answers, logs or files.
    const quote = await fetch(`${host}/pods?duration=60`, {
      method: 'OPTIONS',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(state.generatedManifest),
    });
    assert.equal(quote.status, 200);
    const answers = [
      extended.body,
      await quote.text(),
      await (await fetch(`${host}/info?requestPeers=true`)).text(),
      await (await fetch(`${host}/`)).text(),
      upload.output,
      extend.output,
      byHash.output,
    ];
    const secretForms = [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')];
    for (const form of secretForms) {
      for (const answer of answers) assert.ok(!answer.includes(form), `secret in an answer: ${answer}`);
      assert.ok(!daemon.output().includes(form), 'secret in the logs');
      for (const file of await filesUnder(root)) assert.equal(file.indexOf(form), -1, 'secret in a file');
    }

    // After the paid time: no record, no route, no runtime pod.
    await until('the pod expired', async () => (await podInfo(hash)).status === 404, 30_000, 200);
    assert.ok(Date.now() >= extended.expiry, 'not before its expiry');
    assert.equal((await viaProxy(hash, '/')).status, 404);
    await until(
      'the runtime pod is deleted',
      async () => (await runtimePods(hash)).length === 0,
      15_000,
      200,
    );
  });

  it('runs the README example pod ("Your first pod") built by examples/hello/build-image.sh', async () => {
    const example = await tempDir('codiusd-hello-');
    // The example's own files only: a checkout may also hold a user's codius.json and state file.
    for (const file of ['build-image.sh', 'codiusvars.json'])
      await cp(join(HELLO_EXAMPLE, file), join(example, file));
    const built = await runCommand('bash', [join(example, 'build-image.sh')], {
      env: { ...process.env, CODIUS_HELLO_IMAGE: helloImage },
    });
    assert.equal(built.code, 0, `build-image.sh:\n${built.output}`);

    const upload = await codius(example, ['upload', '--host', host, '--duration', '600', ...PRICE_FLAGS]);
    assertSucceeded(upload, 'upload');
    const { manifestHash } = JSON.parse(
      await readFile(join(example, 'default.codiusstate.json'), 'utf8'),
    ) as {
      manifestHash: string;
    };
    // The pod is running when the upload answers; its shell may take a moment to start httpd.
    let page = await viaProxy(manifestHash, '/');
    for (let i = 0; i < 25 && page.status === 502; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      page = await viaProxy(manifestHash, '/');
    }
    assert.equal(page.status, 200, page.body);
    assert.equal(page.body, 'Hello from a Codius pod: it runs on codiusd\n');
  });
});
