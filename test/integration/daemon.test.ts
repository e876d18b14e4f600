import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VARIABLES } from '../../src/config/variables.js';
import { openStore } from '../../src/store/store.js';
import { VERSION } from '../../src/version.js';
import { freePort, runDaemon, startDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

/** Resolves true if something accepts TCP connections on the port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Opens a POST whose body is only partly sent: hapi keeps it in flight until the rest arrives. */
function startPartialPost(port: number): Promise<{ socket: Socket; response: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /in-flight HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":',
      );
      let received = '';
      const response = new Promise<string>((done) => {
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
        socket.on('close', () => done(received));
      });
      resolve({ socket, response });
    });
    socket.once('error', reject);
  });
}

async function devEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    CODIUS_DEV: 'true',
    CODIUS_ROOT: await tempDir(),
    CODIUS_PORT: String(await freePort()),
    CODIUS_BOOTSTRAP_PEERS: '[]',
    // Peers seeded by some tests are external names: never contacted.
    CODIUS_PEER_DISCOVERY_INTERVAL: '86400',
    // These tests are about the process (config, signals, locking), not pods: no runtime is touched.
    // The Podman startup path is covered by daemon-pods.test.ts.
    CODIUS_RUNTIME: 'hyperd',
    CODIUS_HYPER_NOOP: 'true',
    ...extra,
  };
}

describe('bin/codiusd', () => {
  it('--version prints the package version and --help lists every variable', async () => {
    const version = runDaemon({}, ['--version']);
    assert.deepEqual(await version.exited, { code: 0, signal: null });
    assert.equal(version.output(), `${VERSION} (Node.js ${process.versions.node})\n`);

    const help = runDaemon({}, ['--help']);
    assert.equal((await help.exited).code, 0);
    for (const variable of VARIABLES) assert.ok(help.output().includes(variable.name), variable.name);
  });

  it('rejects unknown arguments with exit code 2', async () => {
    const daemon = runDaemon({}, ['--frobnicate']);
    assert.equal((await daemon.exited).code, 2);
    assert.match(daemon.output(), /unknown argument "--frobnicate"/);
  });

  for (const [variable, value] of [
    ['CODIUS_PORT', 'notaport'],
    ['CODIUS_BOOTSTRAP_PEERS', 'not json'],
    ['CODIUS_MAX_MEMORY_FRACTION', '1.5'],
  ] as const) {
    it(`stops before binding anything when ${variable}=${value}`, async () => {
      const env = await devEnv({ [variable]: value });
      const daemon = runDaemon(env);
      const { code } = await daemon.exited;
      assert.equal(code, 78, 'EX_CONFIG, which the systemd unit does not restart on');
      const lines = daemon.output().trim().split('\n');
      assert.equal(lines.length, 1, daemon.output());
      assert.match(lines[0] ?? '', new RegExp(`^codiusd: invalid configuration: ${variable} must be `));
      if (variable !== 'CODIUS_PORT') assert.equal(await isListening(Number(env.CODIUS_PORT)), false);
      // Nothing was created in the data directory either.
      await assert.rejects(readFile(join(env.CODIUS_ROOT ?? '', 'secret')));
    });
  }

  it('refuses a second daemon on the same root without binding its port', async () => {
    const env = await devEnv();
    const first = await startDaemon(env);
    const secondPort = await freePort();
    const second = runDaemon({ ...env, CODIUS_PORT: String(secondPort) });
    const { code } = await second.exited;
    assert.equal(code, 1);
    assert.match(second.output(), /another codiusd is already using/);
    assert.equal(await isListening(secondPort), false);
    // The first one is unaffected.
    assert.equal((await fetch(`${first.url}/version`)).status, 200);
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
  });

  it('keeps its secret and store across restarts', async () => {
    const env = await devEnv();
    const seed = await openStore({ root: env.CODIUS_ROOT ?? '', inMemory: false });
    await seed.peers.add('https://kept.example');
    await seed.close();

    const first = await startDaemon(env);
    const secret = await readFile(join(env.CODIUS_ROOT ?? '', 'secret'), 'utf8');
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);

    const second = await startDaemon(env);
    assert.equal(await readFile(join(env.CODIUS_ROOT ?? '', 'secret'), 'utf8'), secret);
    const info = (await (await fetch(`${second.url}/info?requestPeers=true`)).json()) as { peers: string[] };
    assert.deepEqual(info.peers, ['https://kept.example']);
    second.child.kill('SIGINT');
    assert.equal((await second.exited).code, 0);
  });

  it('drains on SIGTERM: refuses new connections, finishes the request in flight, exits 0', async () => {
    const env = await devEnv();
    const daemon = await startDaemon(env);
    const port = Number(env.CODIUS_PORT);
    const inFlight = await startPartialPost(port);

    daemon.child.kill('SIGTERM');
    await daemon.waitForOutput(/shutting down/);
    assert.equal(await isListening(port), false, 'no new connections while draining');

    inFlight.socket.write('1}'); // no half-close: Node aborts a request whose client sends FIN
    const response = await inFlight.response;
    assert.match(response, /^HTTP\/1\.1 404 /, 'the in-flight request got its answer');
    assert.deepEqual(await daemon.exited, { code: 0, signal: null });
  });

  it('bounds the drain by CODIUS_SHUTDOWN_TIMEOUT when a request never finishes', async () => {
    const env = await devEnv({ CODIUS_SHUTDOWN_TIMEOUT: '0.5' });
    const daemon = await startDaemon(env);
    const stuck = await startPartialPost(Number(env.CODIUS_PORT));
    const started = Date.now();
    daemon.child.kill('SIGTERM');
    assert.deepEqual(await daemon.exited, { code: 0, signal: null });
    await stuck.response; // its connection was closed
    assert.ok(Date.now() - started < 5000, 'exited within the bound');
  });

  it('exits at once on a second signal', async () => {
    const env = await devEnv({ CODIUS_SHUTDOWN_TIMEOUT: '60' });
    const daemon = await startDaemon(env);
    const stuck = await startPartialPost(Number(env.CODIUS_PORT));
    daemon.child.kill('SIGTERM');
    await daemon.waitForOutput(/shutting down/);
    daemon.child.kill('SIGINT');
    assert.deepEqual(await daemon.exited, { code: 1, signal: null });
    assert.match(daemon.output(), /second signal/);
    stuck.socket.destroy();
  });

  it('reads --env-file, with the real environment taking precedence', async () => {
    const env = await devEnv();
    const file = join(env.CODIUS_ROOT ?? '', 'codiusd.env');
    await writeFile(
      file,
      `# comment\nCODIUS_PORT=1\nCODIUS_COST_PER_MONTH="7.25"\nCODIUS_PUBLIC_URI=https://from-file.example\n`,
    );
    const daemon = await startDaemon(env, ['--env-file', file]);
    const info = (await (await fetch(`${daemon.url}/info`)).json()) as { costPerMonth: number; uri: string };
    assert.equal(info.costPerMonth, 7.25);
    assert.equal(info.uri, 'https://from-file.example');
    assert.equal(daemon.url, `http://127.0.0.1:${env.CODIUS_PORT ?? ''}`);
    daemon.child.kill('SIGTERM');
    await daemon.exited;

    const missing = runDaemon(env, ['--env-file', join(env.CODIUS_ROOT ?? '', 'nope.env')]);
    assert.equal((await missing.exited).code, 78);
    assert.match(missing.output(), /cannot read --env-file/);
  });
});
