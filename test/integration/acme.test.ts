import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat, writeFile, chmod, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { createApp } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { startAppHost } from '../helpers/app-host.js';
import { launchChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/daemon.js';
import { startKnot } from '../helpers/knot.js';
import { capturingLogger } from '../helpers/logs.js';
import { startPebble } from '../helpers/pebble.js';
import { setupPodman } from '../helpers/podman.js';
import { seedPaidPod } from '../helpers/seed.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { adoptHostOf, podServerImage } from '../helpers/pod-fixture.js';

const run = promisify(execFile);

// Certificates from Let's Encrypt's test CA (pebble) through DNS-01 records published in a real
// authoritative DNS server (Knot), by RFC 2136 updates signed with TSIG and by an operator's hook.
const HOST = 'codius.test';
const CUSTOMER = 'customer.test';
const knot = await startKnot([
  { domain: HOST, records: [] },
  // A pod owner's zone: names pointed at the host (A records), a proof added by the test.
  { domain: CUSTOMER, records: ['app A 127.0.0.1', 'noproof A 127.0.0.1'] },
]);
const httpPort = await freePort();
// Short-lived certificates: renewed at two thirds of 30 s, while the test watches.
const pebble = await startPebble({ dnsServer: knot, httpPort, validitySeconds: 30, nonceRejectPercent: 20 });
const issuingRoot = await pebble.issuingRoot();
const rootFile = join(await tempDir(), 'pebble-root.pem');
await writeFile(rootFile, issuingRoot);

function acmeEnv(port: number, root: string, host = HOST): Record<string, string> {
  return {
    CODIUS_PUBLIC_URI: `https://${host}:${port}`,
    CODIUS_PORT: String(port),
    CODIUS_ROOT: root,
    CODIUS_ACME: 'true',
    CODIUS_ACME_EMAIL: 'operator@codius.test',
    CODIUS_ACME_DIRECTORY: pebble.directoryUrl,
    CODIUS_ACME_CA_ROOT: pebble.caRootFile,
    CODIUS_DNS_RESOLVER: `127.0.0.1:${knot.port}`,
    CODIUS_ACME_RETRY_MIN: '1',
    CODIUS_ACME_PROPAGATION_TIMEOUT: '20',
    ILP_BTP_SERVER: `btp+ws://127.0.0.1:${port + 1}`,
  };
}

function rfc2136Env(secret = knot.acmeKey.secret): Record<string, string> {
  return {
    CODIUS_ACME_DNS: 'rfc2136',
    CODIUS_ACME_RFC2136_SERVER: `127.0.0.1:${knot.port}`,
    CODIUS_ACME_RFC2136_TSIG_NAME: knot.acmeKey.name,
    CODIUS_ACME_RFC2136_TSIG_SECRET: secret,
  };
}

/** The certificate a TLS client gets for `name` from the port: its serial and names. */
function servedCertificate(port: number, name: string): Promise<{ serial: string; names: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: name, ca: issuingRoot }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      resolve({ serial: peer.serialNumber, names: peer.subjectaltname ?? '' });
    });
    socket.on('error', reject);
  });
}

async function curl(port: number, name: string, path = '/'): Promise<string> {
  const { stdout } = await run('curl', [
    '-sS',
    '--fail',
    '--cacert',
    rootFile,
    '--resolve',
    `${name}:${port}:127.0.0.1`,
    `https://${name}:${port}${path}`,
  ]);
  return stdout;
}

function plainGet(port: number, host: string, path: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      resolve({
        status: res.statusCode ?? 0,
        ...(res.headers.location ? { location: res.headers.location } : {}),
      });
    })
      .on('error', reject)
      .end();
  });
}

/** The ACME steps a host logged (orders, challenges, DNS visibility, issuance), with their times. */
function printAcmeExchange(lines: Array<Record<string, unknown>>): void {
  const steps = /^(ACME|TXT record visible|HAProxy serves|the public port serves|certificate renewal)/;
  for (const line of lines.filter((entry) => steps.test(String(entry.msg)))) {
    const fields = Object.fromEntries(
      Object.entries(line).filter(([key]) => !['msg', 'time', 'level', 'service', 'component'].includes(key)),
    );
    console.log(`${new Date(Number(line.time)).toISOString()} ${String(line.msg)} ${JSON.stringify(fields)}`);
  }
}

/** A WebSocket to `name` (its TLS name and Host) through the loopback port. */
function openSocket(port: number, name: string): WebSocket {
  const options = { servername: name, ca: issuingRoot, headers: { Host: `${name}:${port}` } };
  return new WebSocket(`wss://127.0.0.1:${port}/ws`, options);
}

const fixture = await setupPodman();
const podImage = await podServerImage(fixture);
const root = await tempDir();
const pod = await seedPaidPod(
  root,
  {
    name: 'acme-pod',
    version: '1',
    port: '3000',
    containers: [{ id: 'app', image: podImage, environment: { POD_NAME: 'acme' } }],
  },
  { publicUri: `https://${HOST}` },
);
await adoptHostOf(fixture, root);
const port = await freePort();
const started = Date.now();
const { logs } = await startAppHost({
  ...acmeEnv(port, root),
  ...rfc2136Env(),
  ...fixture.podmanEnv,
  CODIUS_RECONCILE_INTERVAL: '5',
  CODIUS_PROXY_ENGINE: 'haproxy',
  CODIUS_HTTP_PORT: String(httpPort),
});
const podName = `${pod.hash}.${HOST}`;

describe('ACME through RFC 2136 with the HAProxy engine', () => {
  it('obtains the host and wildcard certificate before listening and serves pods over https and wss', async () => {
    const text = logs.text();
    assert.match(text, /ACME order created/);
    assert.match(text, /ACME challenge valid/);
    assert.match(text, /ACME certificate issued/);
    console.log(`certificate obtained and listening ${Date.now() - started} ms after the start`);
    printAcmeExchange(logs.lines());
    const file = await stat(join(root, 'acme', 'certificates', `${HOST}.pem`));
    assert.equal(file.mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'acme', 'account.key'))).mode & 0o777, 0o600);
    // The challenge records are gone once validated.
    assert.deepEqual(await knot.txt(`_acme-challenge.${HOST}`), []);

    const served = await servedCertificate(port, podName);
    assert.match(served.names, new RegExp(`DNS:\\*\\.${HOST}`));
    await until(
      'the pod runs',
      async () => (await curl(port, podName).catch(() => '')).includes('hello from acme'),
      60_000,
    );
    assert.match(await curl(port, HOST, '/version'), /"version"/);
    // HAProxy offers h2 by ALPN; the pod still speaks HTTP/1.1 behind it.
    const { stdout: version } = await run('curl', [
      '-sS',
      '--http2',
      '-o',
      '/dev/null',
      '-w',
      '%{http_version}',
      '--cacert',
      rootFile,
      '--resolve',
      `${podName}:${port}:127.0.0.1`,
      `https://${podName}:${port}/`,
    ]);
    assert.equal(version, '2');

    const ws = openSocket(port, podName);
    const hello = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(data.toString()));
      ws.once('error', reject);
    });
    assert.match(hello, /hello/);
    ws.close();
  });

  it('Chromium trusting only the test CA opens the pod over https and talks to it over wss', async () => {
    const browser = await launchChromium({ trust: issuingRoot, resolveTo: '127.0.0.1' });
    const page = await browser.newPage();
    const response = await page.goto(`https://${podName}:${port}/`);
    assert.equal(response?.status(), 200);
    assert.match(await page.content(), /hello from acme/);
    const echoed = await page.evaluate(
      (url) =>
        new Promise<string>((resolve, reject) => {
          const socket = new WebSocket(url);
          socket.onmessage = (event: { data: unknown }) => {
            const text = typeof event.data === 'string' ? event.data : '';
            if (text.includes('hello')) socket.send('from the browser');
            else resolve(text);
          };
          socket.onerror = () => reject(new Error('WebSocket failed'));
        }),
      `wss://${podName}:${port}/ws`,
    );
    assert.equal(echoed, 'from the browser');
    await page.close();
  });

  it('answers plain HTTP with a redirect to https, and HTTP-01 tokens it is not serving with 404', async () => {
    const redirect = await plainGet(httpPort, `${podName}:${httpPort}`, '/some/path?x=1');
    assert.equal(redirect.status, 308);
    assert.equal(redirect.location, `https://${podName}:${port}/some/path?x=1`);
    assert.equal((await plainGet(httpPort, HOST, '/.well-known/acme-challenge/unknown')).status, 404);
    assert.equal((await plainGet(httpPort, 'bad host!', '/')).status, 400);
  });

  it('swaps in the renewed certificate through the runtime API while a WebSocket stays open', async () => {
    const before = await servedCertificate(port, podName);
    const ws = openSocket(port, podName);
    const messages: string[] = [];
    ws.on('message', (data: Buffer) => messages.push(data.toString()));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    let closed = false;
    ws.on('close', () => (closed = true));
    await until(
      'a renewed certificate is served',
      async () => (await servedCertificate(port, podName)).serial !== before.serial,
      60_000,
      500,
    );
    assert.match(logs.text(), /HAProxy serves the new certificate/);
    assert.equal(closed, false, 'the WebSocket opened before the swap is still open');
    const after = await servedCertificate(port, podName);
    console.log(
      `certificate swapped: serial ${before.serial} → ${after.serial}; the WebSocket opened before stayed open`,
    );
    ws.send('still here');
    await until('the echo arrives over the old connection', () => messages.includes('still here'), 5000);
    ws.close();
    assert.match(await curl(port, podName), /hello from acme/);
  });
});

// A second host, under its own name in the same zone, whose operator publishes records with a program.
const EXEC_HOST = `exec.${HOST}`;
const hookDir = await tempDir();
const refuseFlag = join(hookDir, 'refuse');
const hook = join(hookDir, 'dns-hook.sh');
// The operator's program: here it publishes with knsupdate; it refuses while the flag file exists.
await writeFile(
  hook,
  [
    '#!/bin/sh',
    'set -eu',
    `if [ -e ${refuseFlag} ]; then echo "provider API says: quota exceeded" >&2; exit 3; fi`,
    'if [ "$1" = add ]; then change="update add $2 60 TXT \\"$3\\""; else change="update delete $2 TXT \\"$3\\""; fi',
    `printf 'server 127.0.0.1 ${knot.port}\\nzone ${HOST}\\n%s\\nsend\\n' "$change" | knsupdate -y ${knot.adminKey.algorithm}:${knot.adminKey.name}:${knot.adminKey.secret}`,
    'echo "published $1 $2"',
    '',
  ].join('\n'),
);
await chmod(hook, 0o755);
const execPort = await freePort();
const { logs: execLogs } = await startAppHost({
  ...acmeEnv(execPort, await tempDir(), EXEC_HOST),
  CODIUS_RUNTIME: 'hyperd',
  CODIUS_HYPER_NOOP: 'true',
  CODIUS_ACME_DNS: 'exec',
  CODIUS_ACME_DNS_HOOK: hook,
  CODIUS_HTTP_PORT: '0',
});

describe('custom domains of pods (HAProxy engine)', () => {
  const app = `app.${CUSTOMER}`;
  const insecure = (name: string, path = '/'): Promise<string> =>
    run('curl', [
      '-sS',
      '-k',
      '--resolve',
      `${name}:${port}:127.0.0.1`,
      `https://${name}:${port}${path}`,
    ]).then(
      ({ stdout }) => stdout,
      () => '',
    );

  it('serves a name whose _codius TXT record names the pod, with a certificate obtained on first use', async () => {
    await knot.update(CUSTOMER, [`update add _codius.${app} 2 TXT ${pod.hash}`]);
    const first = Date.now();
    const redirect = await plainGet(httpPort, app, '/hello');
    assert.equal(redirect.status, 308);
    assert.equal(redirect.location, `https://${app}:${port}/hello`);
    console.log(`custom domain certificate obtained in ${Date.now() - first} ms`);
    assert.match(logs.text(), /HAProxy serves the custom domain certificate/);
    assert.match((await servedCertificate(port, app)).names, /DNS:app\.customer\.test/);
    assert.match(await curl(port, app), /hello from acme/);
    printAcmeExchange(logs.lines().filter((line) => JSON.stringify(line).includes(app)));
    assert.match(
      await curl(port, HOST, `/pods?manifestHash=${pod.hash}`),
      /"domains":\["app\.customer\.test"\]/,
    );
  });

  it('gives a name without proof no certificate and no pod', async () => {
    const redirect = await plainGet(httpPort, `noproof.${CUSTOMER}`, '/');
    assert.equal(redirect.status, 308);
    assert.doesNotMatch(
      (await servedCertificate(port, `noproof.${CUSTOMER}`).catch(() => ({ names: '' }))).names,
      /noproof/,
    );
    assert.doesNotMatch(await insecure(`noproof.${CUSTOMER}`), /hello from acme/);
    await assert.rejects(stat(join(root, 'acme', 'certificates', `noproof.${CUSTOMER}.pem`)));
  });

  it('stops serving a name once its proof is gone', async () => {
    await knot.update(CUSTOMER, [`update delete _codius.${app} TXT`]);
    await until(
      'the pod is no longer served at the name',
      async () => !(await insecure(app)).includes('hello from acme'),
      20_000,
      500,
    );
  });
});

describe('ACME through an exec hook with the built-in engine', () => {
  it('obtains the certificate with the hook, logging what it printed', async () => {
    assert.match(execLogs.text(), /published add _acme-challenge\.exec\.codius\.test/);
    assert.match(execLogs.text(), /published remove _acme-challenge\.exec\.codius\.test/);
    assert.match(await curl(execPort, EXEC_HOST, '/version'), /"version"/);
    assert.match((await servedCertificate(execPort, `x.${EXEC_HOST}`)).names, /\*\.exec\.codius\.test/);
  });

  it('keeps the certificate in service while the DNS side refuses, and renews once it accepts again', async () => {
    await writeFile(refuseFlag, '');
    const failures = (): number => execLogs.text().split('certificate renewal failed').length - 1;
    await until('a renewal fails', () => failures() >= 1, 60_000, 200);
    // A renewal under way when the flag appeared may still have ended well: compare from here on.
    const before = await servedCertificate(execPort, EXEC_HOST);
    const seen = failures();
    await until('another renewal fails', () => failures() > seen, 60_000, 200);
    assert.match(execLogs.text(), /provider API says: quota exceeded/);
    assert.equal(
      (await servedCertificate(execPort, EXEC_HOST)).serial,
      before.serial,
      'the old certificate still serves',
    );
    await rm(refuseFlag);
    await until(
      'the renewed certificate is served',
      async () => (await servedCertificate(execPort, EXEC_HOST)).serial !== before.serial,
      60_000,
      500,
    );
    assert.match(execLogs.text(), /the public port serves the new certificate/);
  });
});

describe('ACME start-up failures', () => {
  it('says why the DNS server refused the update, does not start without a certificate, and does not order again at once', async () => {
    const logs = capturingLogger();
    const port = await freePort();
    const root = await tempDir();
    const config = loadConfig({
      ...acmeEnv(port, root),
      ...rfc2136Env(Buffer.alloc(32, 1).toString('base64')),
      CODIUS_RUNTIME: 'hyperd',
      CODIUS_HYPER_NOOP: 'true',
      CODIUS_SELF_TEST: 'false',
      CODIUS_BOOTSTRAP_PEERS: '[]',
      CODIUS_HTTP_PORT: '0',
    });
    const app = createApp({ config, logger: logs.logger });
    await assert.rejects(
      app.start(),
      /refused to add TXT _acme-challenge\.codius\.test in zone codius\.test: TSIG BADSIG/,
    );
    await app.stop();
    // Started again at once (as a service manager would): no order is sent before the pause is over.
    const again = capturingLogger();
    const restarted = createApp({ config, logger: again.logger });
    await assert.rejects(restarted.start(), /the last 1 orders for codius\.test failed .* not sent before/);
    await restarted.stop();
    assert.doesNotMatch(again.text(), /ACME order created/);
  });
});
