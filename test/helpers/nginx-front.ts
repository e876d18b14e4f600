import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CONTRIB_CONF = fileURLToPath(new URL('../../../contrib/nginx/codiusd.conf', import.meta.url));

export interface WildcardCertificate {
  /** PEM of the certificate authority that signed it, for clients to trust. */
  ca: string;
  certFile: string;
  keyFile: string;
}

/** A test CA and a certificate it signed for `host` and `*.host`, made with openssl. */
export async function wildcardCertificate(dir: string, host: string): Promise<WildcardCertificate> {
  const file = (name: string): string => join(dir, name);
  const newKey = (key: string): string[] => [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    file(key),
  ];
  await run('openssl', [
    'req',
    '-x509',
    ...newKey('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '30',
    '-subj',
    '/CN=codiusd test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  await run('openssl', ['req', ...newKey('host.key'), '-out', file('host.csr'), '-subj', `/CN=${host}`]);
  await writeFile(
    file('host.ext'),
    `subjectAltName=DNS:${host},DNS:*.${host}\nextendedKeyUsage=serverAuth\n`,
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('host.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('host.pem'),
    '-days',
    '30',
    '-extfile',
    file('host.ext'),
  ]);
  return {
    ca: await readFile(file('ca.pem'), 'utf8'),
    certFile: file('host.pem'),
    keyFile: file('host.key'),
  };
}

/**
 * The project's own contrib/nginx/codiusd.conf, run by real nginx: only the names, ports and certificate
 * paths are changed (to loopback ports the test chose), everything else is the file as shipped.
 */
export async function startNginxFront(options: {
  dir: string;
  host: string;
  httpsPort: number;
  httpPort: number;
  codiusdPort: number;
  certificate: WildcardCertificate;
}): Promise<void> {
  const { dir, host, certificate } = options;
  const prefix = join(dir, 'nginx');
  await mkdir(prefix, { recursive: true });
  const site = (await readFile(CONTRIB_CONF, 'utf8'))
    .replaceAll('codius.example.com', host)
    .replace(/^\s*listen \[::\]:\d+( ssl)?;\n/gm, '')
    .replace('listen 80;', `listen 127.0.0.1:${options.httpPort};`)
    .replace('listen 443 ssl;', `listen 127.0.0.1:${options.httpsPort} ssl;`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${certificate.certFile};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${certificate.keyFile};`)
    .replace('http://127.0.0.1:3000', `http://127.0.0.1:${options.codiusdPort}`);
  await writeFile(join(prefix, 'site.conf'), site);
  const conf = join(prefix, 'nginx.conf');
  await writeFile(
    conf,
    [
      `daemon off; user root; worker_processes 1; pid ${prefix}/nginx.pid; error_log ${prefix}/error.log;`,
      'events { worker_connections 1024; }',
      `http { access_log off; client_body_temp_path ${prefix}/b; proxy_temp_path ${prefix}/p;`,
      `  fastcgi_temp_path ${prefix}/f; uwsgi_temp_path ${prefix}/u; scgi_temp_path ${prefix}/s;`,
      `  include ${prefix}/site.conf; }`,
      '',
    ].join('\n'),
  );
  // Its own process group, so the workers go with the master (a killed master leaves them running).
  const child = spawn('nginx', ['-e', join(prefix, 'error.log'), '-p', prefix, '-c', conf], {
    stdio: 'ignore',
    detached: true,
  });
  after(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  });
  for (let attempt = 0; ; attempt += 1) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(options.httpsPort, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (attempt > 100)
      throw new Error(
        `nginx did not start: ${await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
