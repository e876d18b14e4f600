// The packaged daemon on this machine: the files of the previous build and of this one, unpacked side by
// side (nothing installed on the host), each run as /usr/bin/codiusd with the Node.js it carries, on real
// Podman and `moneyd local`. The previous build takes a paid upload from the published Codius CLI; it is
// stopped as the package's prerm stops it (SIGTERM), and this build starts on the same data: the pod kept
// running and is adopted, its expiry and the ledger are unchanged, and it serves through the proxy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LABEL_MANIFEST_HASH } from '../../src/runtime/podman/driver.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { STORE_FILE } from '../../src/store/store.js';
import { freePort, runDaemon, startDaemon } from '../helpers/daemon.js';
import { setupMoneyd } from '../helpers/moneyd.js';
import { podman, setupPodman } from '../helpers/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { buildPackage, previousBuild } from './build-package.js';
import { mustRun, runCommand, type CommandResult } from '../helpers/run-command.js';
import { adoptHostOf, podServerImage } from '../helpers/pod-fixture.js';

const CODIUS = fileURLToPath(new URL('../../../scripts/codius', import.meta.url));
const PRICE_FLAGS = ['--units', 'XRP', '--max-monthly-rate', '10', '--assume-yes'];
const ADMIN_TOKEN = randomBytes(16).toString('hex');

const deb = await buildPackage();
const previous = await previousBuild(deb);
const unpacked = { previous: await tempDir('codiusd-previous-'), current: await tempDir('codiusd-current-') };
await mustRun('dpkg-deb', ['--extract', previous.path, unpacked.previous]);
await mustRun('dpkg-deb', ['--extract', deb, unpacked.current]);
after(async () => {
  for (const dir of [dirname(deb), dirname(previous.path)]) await rm(dir, { recursive: true, force: true });
});

await setupMoneyd();
const fixture = await setupPodman();
const podImage = await podServerImage(fixture);
const root = await tempDir();
await adoptHostOf(fixture, root);
const port = await freePort();
const adminPort = await freePort();
const env = {
  CODIUS_DEV: 'true',
  CODIUS_ROOT: root,
  CODIUS_PORT: String(port),
  CODIUS_ADMIN_API: 'true',
  CODIUS_ADMIN_PORT: String(adminPort),
  CODIUS_ADMIN_TOKEN: ADMIN_TOKEN,
  CODIUS_BOOTSTRAP_PEERS: '[]',
  CODIUS_PODMAN_NETWORK: fixture.network,
  CODIUS_PODMAN_SUBNET: fixture.subnet,
  CONTAINERS_REGISTRIES_CONF: process.env.CONTAINERS_REGISTRIES_CONF ?? '',
};
const packaged = (tree: string): string => join(tree, 'usr/bin/codiusd');

const codius = (cwd: string, args: string[]): Promise<CommandResult> =>
  runCommand(CODIUS, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd } });

/** The runtime pod of a manifest, by Podman's id. */
const runtimePod = (hash: string): Promise<string> =>
  podman(['pod', 'ps', '-q', '--no-trunc', '--filter', `label=${LABEL_MANIFEST_HASH}=${hash}`]);

const admin = async (path: string): Promise<unknown> => {
  const response = await fetch(`http://127.0.0.1:${adminPort}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(response.status, 200, path);
  return response.json();
};

/** GET through codiusd with the pod's Host header (fetch would replace Host), as a browser on the pod's name. */
function viaProxy(hash: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `http://127.0.0.1:${port}/env?name=GREETING`,
      { headers: { Host: `${hash}.local.codius.org:${port}` }, agent: false },
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

interface PodView {
  manifestHash: string;
  expiry: string;
  state: string;
}

describe('the packaged daemon', () => {
  it('serves a paid upload through to a proxied 200, and an upgrade keeps the pod, its expiry and the ledger', async () => {
    const old = await startDaemon(env, [], { bin: packaged(unpacked.previous), stoppedBy: 'caller' });
    const version = await mustRun(packaged(unpacked.previous), ['--version']);
    assert.match(version, /\(Node\.js 24\.\d+\.\d+\)/);
    await until(
      'the host accepts uploads',
      async () =>
        ((await (await fetch(`${old.url}/info`)).json()) as { acceptingUploads: boolean }).acceptingUploads,
      20_000,
      200,
    );

    const project = await tempDir('codiusd-package-cli-');
    const greeting = `hello from the package ${randomBytes(4).toString('hex')}`;
    await writeFile(
      join(project, 'codius.json'),
      JSON.stringify({
        manifest: {
          name: `package-${randomBytes(4).toString('hex')}`,
          version: '1.0.0',
          port: '3000',
          containers: [{ id: 'app', image: podImage, environment: { GREETING: '$GREETING' } }],
        },
      }),
    );
    await writeFile(
      join(project, 'codiusvars.json'),
      JSON.stringify({ vars: { public: { GREETING: { value: greeting } } } }),
    );
    const upload = await codius(project, ['upload', '--host', old.url, '--duration', '600', ...PRICE_FLAGS]);
    assert.equal(upload.code, 0, upload.output);
    const hash = /manifestHash: "([a-z2-7]{52})"/.exec(upload.output)?.[1] ?? assert.fail(upload.output);
    assert.match(upload.output, /pricePaid: "[1-9]\d*"/);
    const served = await viaProxy(hash);
    assert.equal(served.status, 200, served.body);
    assert.deepEqual(JSON.parse(served.body), { GREETING: greeting });

    const podsBefore = (await admin('/api/pods')) as { pods: PodView[] };
    const moneyBefore = await admin('/api/money');
    const runtimeBefore = await runtimePod(hash);
    assert.notEqual(runtimeBefore.trim(), '');

    // The upgrade: the prerm's SIGTERM, the new files, the new start on the same data.
    old.child.kill('SIGTERM');
    assert.deepEqual(await old.exited, { code: 0, signal: null });
    const current = await startDaemon(env, [], { bin: packaged(unpacked.current), stoppedBy: 'caller' });

    const runtimeAfter = await runtimePod(hash);
    assert.equal(runtimeAfter, runtimeBefore, 'the same runtime pod, not a new one');
    const podsAfter = (await admin('/api/pods')) as { pods: PodView[] };
    const before = podsBefore.pods.find((pod) => pod.manifestHash === hash);
    const afterUpgrade = podsAfter.pods.find((pod) => pod.manifestHash === hash);
    assert.equal(afterUpgrade?.expiry, before?.expiry, 'the expiry is unchanged');
    assert.equal(afterUpgrade?.state, 'running');
    assert.deepEqual(await admin('/api/money'), moneyBefore, 'the ledger is unchanged');
    const again = await viaProxy(hash);
    assert.equal(again.status, 200, again.body);
    assert.deepEqual(JSON.parse(again.body), { GREETING: greeting });
    // Stopped as a service is, so that it stops the Podman API service it started.
    current.child.kill('SIGTERM');
    assert.deepEqual(await current.exited, { code: 0, signal: null });

    // A downgrade to the previous build after a schema change: it refuses the newer store, says why, and
    // systemd does not restart it (exit 65); the store is not touched.
    const db = await openDatabase(join(root, STORE_FILE));
    const schema = (await db.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
    await db.exec(`PRAGMA user_version = ${schema + 1}`);
    await db.close();
    const downgraded = runDaemon(env, [], { bin: packaged(unpacked.previous), stoppedBy: 'caller' });
    assert.deepEqual(await downgraded.exited, { code: 65, signal: null });
    assert.match(
      downgraded.output(),
      new RegExp(
        `the store has schema version ${schema + 1}, newer than this codiusd supports \\(${schema}\\)`,
      ),
    );
    console.log(
      `# upgrade: ${previous.version} → current; pod ${hash.slice(0, 12)}… kept (${runtimeAfter.trim().slice(0, 12)}), expiry ${afterUpgrade.expiry}`,
    );
  });
});
