import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Manifest } from '../../src/domain/types.js';
import { buildPodPlan } from '../../src/manifest/plan.js';
import { mergeLogSources } from '../../src/pods/log-stream.js';
import { createHyperdDriver, createNoopHyperdDriver, parsePodList } from '../../src/runtime/hyperd/driver.js';
import { MONEYD_SIDECAR_IMAGE } from '../../src/runtime/hyperd/spec.js';
import { ImageUnavailableError } from '../../src/runtime/errors.js';
import { encodeFrame } from '../../src/runtime/stdcopy.js';
import { createUnixHttpClient } from '../../src/runtime/unix-http.js';
import { startFakeHyperd } from '../helpers/hyperd-api.js';
import { capturingLogger } from '../helpers/logs.js';
import { goldenVectors } from '../helpers/spec.js';

const SECRET = Buffer.from(goldenVectors.codius_secret_hmac.secret_file_contents_base64, 'base64');
const SELFTEST = goldenVectors.manifests.selftest;
if (!SELFTEST) throw new Error('golden vector "selftest" missing');
const plan = buildPodPlan(
  { manifest: SELFTEST.manifest as Manifest },
  { publicUri: 'https://codius.example.com' },
);
const HASH = plan.hash;
const USER_IMAGE = (SELFTEST.manifest as Manifest).containers[0]?.image ?? '';

/** Byte for byte, the hyperd pod spec of golden vector 1 with secret 32×0x01. */
const APPENDIX_A =
  '{"id":"rpxbd7xgjwmua5l3obxphu2ueqlngji3tay3go5jqyhb5v6inpsa","resource":{"vcpu":1,"memory":512},' +
  '"containers":[{"name":"rpxbd7xgjwmua5l3obxphu2ueqlngji3tay3go5jqyhb5v6inpsa__codius-test",' +
  '"image":"androswong418/codius-test-image@sha256:0dce885c4e558a8a7612b80e3c7f5faa54520ed27836b1f892962cf855d031a2",' +
  '"envs":[{"env":"CODIUS","value":"true"},{"env":"CODIUS_HOST","value":"https://codius.example.com"},' +
  '{"env":"CODIUS_MANIFEST_HASH","value":"rpxbd7xgjwmua5l3obxphu2ueqlngji3tay3go5jqyhb5v6inpsa"},' +
  '{"env":"CODIUS_MANIFEST","value":"{\\"name\\":\\"Codius Test 200\\",\\"version\\":\\"1.0.0\\",\\"machine\\":\\"small\\",\\"port\\":\\"3000\\",\\"containers\\":[{\\"id\\":\\"codius-test\\",\\"image\\":\\"androswong418/codius-test-image@sha256:0dce885c4e558a8a7612b80e3c7f5faa54520ed27836b1f892962cf855d031a2\\",\\"environment\\":{\\"PORT\\":\\"3000\\"}}]}"},' +
  '{"env":"PORT","value":"3000"}]},' +
  '{"name":"rpxbd7xgjwmua5l3obxphu2ueqlngji3tay3go5jqyhb5v6inpsa_moneyd",' +
  '"image":"codius/codius-moneyd@sha256:4c02fc168e6b4cfde90475ed3c3243de0bce4ca76b73753a92fb74bf5116deef",' +
  '"envs":[{"env":"CODIUS_SECRET","value":"8a96fee402b68a3fd9f549f77c83a4df1c46d8a9c7781bf953c8334a150bd716"}]}]}';

async function setup() {
  const hyperd = await startFakeHyperd();
  const client = createUnixHttpClient(hyperd.socketPath);
  const driver = createHyperdDriver({
    client,
    hostSecret: SECRET,
    logger: capturingLogger().logger,
    pullTimeoutMs: 5000,
  });
  return { hyperd, driver, client };
}

describe('hyperd driver (against a server speaking hyperd API)', () => {
  it('sends exactly the expected pod spec, pulls every image once create fails, starts and reads the IP', async () => {
    const { hyperd, driver, client } = await setup();
    hyperd.registryImages.add(USER_IMAGE).add(MONEYD_SIDECAR_IMAGE);
    const pod = await driver.runPod(plan);
    assert.deepEqual(pod, { hash: HASH, running: true, ip: '192.168.123.2' });

    const creates = hyperd.calls.filter((c) => c.url === '/pod/create');
    assert.equal(creates.length, 2, 'create, pull, create again');
    for (const create of creates) {
      assert.equal(create.body, APPENDIX_A);
      assert.equal(create.contentType, 'application/json');
    }
    assert.deepEqual(
      hyperd.calls.map((c) => `${c.method} ${c.url}`),
      [
        'POST /pod/create',
        `POST /image/create?imageName=${encodeURIComponent(USER_IMAGE)}`,
        `POST /image/create?imageName=${encodeURIComponent(MONEYD_SIDECAR_IMAGE)}`,
        'POST /pod/create',
        `POST /pod/start?podId=${HASH}`,
        `GET /pod/info?podName=${HASH}`,
      ],
    );
    client.close();
  });

  it('reports an image that cannot be pulled (error inside a 200 stream) and leaves nothing', async () => {
    const { hyperd, driver, client } = await setup();
    hyperd.registryImages.add(MONEYD_SIDECAR_IMAGE);
    await assert.rejects(driver.runPod(plan), (error: unknown) => {
      assert.ok(error instanceof ImageUnavailableError);
      assert.match(error.message, /codius-test-image.*manifest unknown/);
      return true;
    });
    assert.equal(hyperd.pods.size, 0);
    client.close();
  });

  it('lists every pod whatever the order of states, ignoring pods that are not manifest hashes', async () => {
    const other = 'b'.repeat(52);
    assert.deepEqual(
      parsePodList([
        `${other}:${other}:vm-1:failed`,
        `${HASH}:${HASH}:vm-2:running`,
        'garbage',
        `x:y:vm:running`,
        7,
      ]),
      [
        { hash: other, running: false, ip: null },
        { hash: HASH, running: true, ip: null },
      ],
    );
    // A trailing non-running entry must not make the driver forget any pod.
    assert.equal(parsePodList([`${HASH}:${HASH}:vm-2:running`, `${other}:${other}:vm-1:stopping`]).length, 2);

    const { hyperd, driver, client } = await setup();
    hyperd.localImages.add(USER_IMAGE).add(MONEYD_SIDECAR_IMAGE);
    hyperd.extraListEntries.push(`${other}:${other}:vm-9:pending`, 'nginx-pod:nginx:vm-3:running');
    await driver.runPod(plan);
    assert.deepEqual(await driver.listPods(), [
      { hash: other, running: false, ip: null },
      { hash: HASH, running: true, ip: null },
    ]);
    client.close();
  });

  it('inspects, deletes idempotently, and treats an unknown pod as absent', async () => {
    const { hyperd, driver, client } = await setup();
    hyperd.localImages.add(USER_IMAGE).add(MONEYD_SIDECAR_IMAGE);
    await driver.runPod(plan);
    assert.deepEqual(await driver.inspectPod(HASH), { hash: HASH, running: true, ip: '192.168.123.2' });
    await driver.deletePod(HASH);
    assert.equal(await driver.inspectPod(HASH), null);
    await driver.deletePod(HASH);
    assert.deepEqual(await driver.listPods(), []);
    client.close();
  });

  it('streams logs of the containers and the sidecar, named by container id, frames split across chunks', async () => {
    const { hyperd, driver, client } = await setup();
    hyperd.localImages.add(USER_IMAGE).add(MONEYD_SIDECAR_IMAGE);
    await driver.runPod(plan);
    const prefix = HASH.slice(0, 8);
    hyperd.logs.set(
      `${prefix}-c0`,
      Buffer.concat([
        encodeFrame(1, 'listening on 3000\n'),
        encodeFrame(2, 'warning: x\n'),
        encodeFrame(1, 'a\nb\n'),
      ]),
    );
    hyperd.logs.set(`${prefix}-c1`, encodeFrame(1, 'moneyd up\n'));
    const sources = await driver.openLogs(HASH, { follow: false, signal: new AbortController().signal });
    assert.ok(sources);
    let text = '';
    for await (const chunk of mergeLogSources(sources, { follow: false })) text += String(chunk);
    assert.deepEqual(text.split('\n').filter(Boolean).sort(), [
      'codius-test stderr warning: x',
      'codius-test stdout a',
      'codius-test stdout b',
      'codius-test stdout listening on 3000',
      'moneyd stdout moneyd up',
    ]);
    assert.ok(
      hyperd.calls.some(
        (c) => c.url.includes('/container/logs?container=') && c.url.includes('follow=false'),
      ),
    );
    client.close();
  });

  it('fails prepare() clearly when nothing listens on the socket', async () => {
    const client = createUnixHttpClient('/nonexistent/hyper.sock');
    const driver = createHyperdDriver({
      client,
      hostSecret: SECRET,
      logger: capturingLogger().logger,
      pullTimeoutMs: 1000,
    });
    await assert.rejects(
      driver.prepare(),
      /container runtime unavailable \(\/nonexistent\/hyper\.sock: ENOENT\)/,
    );
    client.close();
  });

  it('no-op mode keeps pods in memory only and never connects', async () => {
    const driver = createNoopHyperdDriver(capturingLogger().logger);
    await driver.prepare();
    await driver.runPod(plan);
    assert.deepEqual(await driver.listPods(), [{ hash: HASH, running: true, ip: null }]);
    await driver.deletePod(HASH);
    assert.equal(await driver.inspectPod(HASH), null);
  });
});
