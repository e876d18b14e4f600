import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/daemon.js';
import type { CertificateFiles } from './bench-tls.js';

export interface NginxProxy {
  url: string;
  /** Graceful stop (SIGQUIT): nginx finishes what it has and exits. */
  stop: () => void;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; throws after 5 s. */
async function untilListening(port: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * nginx as a Codius host's front proxy to the pod at `podAddress` (`ip:port`): `workers` worker processes,
 * keep-alive to the pod, Host and X-Forwarded-* set, no buffering. With `tls` it listens with TLS 1.2 and
 * 1.3 (h2 offered by ALPN, as codiusd's HAProxy does) and a shared session cache.
 */
export async function startNginxProxy(options: {
  dir: string;
  podAddress: string;
  workers: string;
  tls?: CertificateFiles;
}): Promise<NginxProxy> {
  const { tls, workers } = options;
  const port = await freePort();
  const prefix = join(options.dir, `nginx-proxy-${workers}${tls ? '-tls' : ''}`);
  await mkdir(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  const listen = tls
    ? [
        `  server { listen 127.0.0.1:${port} ssl http2;`,
        `    ssl_certificate ${tls.certPath}; ssl_certificate_key ${tls.keyPath};`,
        '    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m; ssl_session_timeout 1h;',
      ]
    : [`  server { listen 127.0.0.1:${port};`];
  await writeFile(
    conf,
    [
      `daemon off; worker_processes ${workers}; pid ${prefix}/nginx.pid; error_log ${prefix}/error.log;`,
      'events { worker_connections 4096; }',
      'http { access_log off; keepalive_requests 1000000;',
      `  client_body_temp_path ${prefix}/b; proxy_temp_path ${prefix}/p; fastcgi_temp_path ${prefix}/f;`,
      `  uwsgi_temp_path ${prefix}/u; scgi_temp_path ${prefix}/s;`,
      `  upstream pod { server ${options.podAddress}; keepalive 128; }`,
      ...listen,
      '    location / { proxy_pass http://pod; proxy_http_version 1.1; proxy_set_header Connection "";',
      '      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '      proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $host;',
      '      proxy_buffering off; } } }',
      '',
    ].join('\n'),
  );
  const child = spawn('nginx', ['-e', join(prefix, 'error.log'), '-p', prefix, '-c', conf], {
    stdio: 'ignore',
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`nginx exited with ${String(code)}; see ${prefix}`))),
  );
  exited.catch(() => undefined);
  try {
    await Promise.race([untilListening(port), exited]);
  } catch (error) {
    child.kill('SIGQUIT');
    throw error;
  }
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`,
    stop: () => void child.kill('SIGQUIT'),
  };
}
