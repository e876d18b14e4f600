import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './daemon.js';
import { startServerProcess } from './server-process.js';
import { tempDir } from './tmp.js';
import { until } from './wait.js';

const run = promisify(execFile);

export interface PebbleOptions {
  /** The DNS server pebble asks for TXT (DNS-01) and A (HTTP-01) records. */
  dnsServer: { host: string; port: number };
  /** Where pebble connects for HTTP-01 challenges. */
  httpPort: number;
  /** Lifetime of the certificates it issues, in seconds. */
  validitySeconds?: number;
  /** Percentage of requests refused with badNonce, which clients must retry. */
  nonceRejectPercent?: number;
}

export interface Pebble {
  directoryUrl: string;
  /** The CA of pebble's own HTTPS (for CODIUS_ACME_CA_ROOT). */
  caRootFile: string;
  /** The root that signs the certificates it issues (for clients of codiusd to trust). */
  issuingRoot(): Promise<string>;
  output(): string;
}

function fetchText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`)),
      );
    })
      .on('error', reject)
      .end();
  });
}

/**
 * Let's Encrypt's test CA on loopback, with its own HTTPS certificate signed by a CA made here (Debian's
 * pebble ships none). Stopped when the test file ends.
 */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const dir = await tempDir('codiusd-pebble-');
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=pebble test CA',
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(file('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.pem'),
    '-days',
    '2',
    '-extfile',
    file('ext.cnf'),
  ]);
  const [port, management, tlsPort] = [await freePort(), await freePort(), await freePort()];
  await writeFile(
    file('pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: file('server.pem'),
        privateKey: file('server.key'),
        httpPort: options.httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
      },
    }),
  );
  const server = startServerProcess(
    'pebble',
    ['-config', file('pebble.json'), '-dnsserver', `${options.dnsServer.host}:${options.dnsServer.port}`],
    {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: String(options.nonceRejectPercent ?? 5),
      // Every order proves its names afresh: a reused authorization would skip the DNS side under test.
      PEBBLE_AUTHZREUSE: '0',
    },
  );
  const ca = await readFile(file('ca.pem'), 'utf8');
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  await until(
    'pebble answers',
    async () => {
      server.assertRunning();
      return fetchText(directoryUrl, ca).then(
        () => true,
        () => false,
      );
    },
    10_000,
  );
  return {
    directoryUrl,
    caRootFile: file('ca.pem'),
    issuingRoot: () => fetchText(`https://127.0.0.1:${management}/roots/0`, ca),
    output: () => server.output(),
  };
}
