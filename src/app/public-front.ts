import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Server } from '@hapi/hapi';
import type { HttpServerOptions } from '../http/server.js';
import type { Server as SecureServer } from 'node:https';
import type { TlsSource } from '../acme/tls-source.js';
import { startHttpPort } from '../http/http-port.js';
import type { Certificates } from './certificates.js';
import { sniCallback, type CustomDomainService } from './custom-domains.js';
import { acceptProxyProtocol } from '../net/proxy-protocol.js';
import type { PodDirectory } from '../pods/pod-directory.js';
import type { PhaseContext } from './phase-context.js';

/** What the public port is made of. */
export interface PublicFront {
  server: Server;
  directory: PodDirectory;
  tls: TlsSource | null;
  custom: CustomDomainService | null;
}

/** Where the API server listens, and how, for the proxy engine chosen. */
export interface ApiListen {
  host: string;
  port: number;
  tls?: HttpServerOptions['tls'];
}

/** The built-in engine serves the public port itself (with TLS when configured); behind HAProxy, a loopback port. */
export function apiListen(
  context: PhaseContext,
  tls: TlsSource | null,
  custom: CustomDomainService | null,
): ApiListen {
  const { config } = context;
  if (config.proxy.engine === 'haproxy') return { host: '127.0.0.1', port: 0 };
  if (!tls) return { host: config.bindIp, port: config.port };
  const { cert, key } = tls.current();
  const publicHost = new URL(config.publicUri).hostname.toLowerCase();
  return {
    host: config.bindIp,
    port: config.port,
    tls: {
      cert: Buffer.from(cert),
      key: Buffer.from(key),
      ...(custom ? { SNICallback: sniCallback(publicHost, custom.domains) } : {}),
    },
  };
}

/** A port nobody listens on now, for `CODIUS_PORT=0` (any free port) when HAProxy must be told one. */
async function freePort(host: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, host, resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Before the API server starts: behind HAProxy it learns each client's address from the PROXY protocol. */
export function prepareApiListener(context: PhaseContext, server: Server, tls: TlsSource | null): void {
  if (context.config.proxy.engine === 'haproxy') {
    acceptProxyProtocol(server.listener);
    return;
  }
  // A renewed certificate serves new connections; those open keep theirs.
  tls?.onReplaced(({ cert, key }) => {
    (server.listener as unknown as SecureServer).setSecureContext({ cert, key });
    context.logger.info('the public port serves the new certificate');
  });
}

/**
 * After the API server listens: with CODIUS_PROXY_ENGINE=haproxy, HAProxy is started on the public port in
 * front of it (and stopped first at shutdown, gracefully). Returns the public port's URL.
 */
export async function startPublicFront(context: PhaseContext, front: PublicFront): Promise<string> {
  const { config, lifecycle, logger } = context;
  const { server, directory, tls } = front;
  if (config.proxy.engine !== 'haproxy') return server.info.uri;
  const port = config.port === 0 ? await freePort(config.bindIp) : config.port;
  // Loaded only for this engine: a host on the built-in one never needs it.
  const { startHaproxyEngine } = await import('../proxy/haproxy/engine.js');
  const engine = await lifecycle.start(
    'HAProxy',
    () =>
      startHaproxyEngine({
        settings: {
          bindIp: config.bindIp,
          port,
          codiusd: { host: '127.0.0.1', port: Number(server.info.port) },
          trustedProxies: config.proxy.trustedProxies,
          publicProto: new URL(config.publicUri).protocol === 'https:' ? 'https' : 'http',
          timeoutMs: config.proxy.timeoutMs,
          maxConnectionsPerPod: config.proxy.maxConnectionsPerPod,
          maxConnections: config.proxy.maxConnections,
          shutdownTimeoutMs: config.shutdownTimeoutMs,
        },
        publicHostname: new URL(config.publicUri).hostname,
        directory: join(config.root, 'haproxy'),
        tls: tls?.current() ?? null,
        command: config.proxy.haproxyPath,
        pods: directory,
        logger: logger.child({ component: 'haproxy' }),
      }),
    (engine) => engine.stop(),
  );
  tls?.onReplaced((material) => engine.replaceCertificate(material));
  front.custom?.onCertificate((name, material) => engine.addCertificate(name, material));
  const host = config.bindIp.includes(':') ? `[${config.bindIp}]` : config.bindIp;
  return `${tls ? 'https' : 'http'}://${host}:${port}`;
}

/** With TLS on: the plain-HTTP port (CODIUS_HTTP_PORT), for HTTP-01 challenges and redirects to https. */
export async function startPlainHttpPort(
  context: PhaseContext,
  certificates: Certificates,
  custom: CustomDomainService | null,
): Promise<void> {
  const { config, lifecycle, logger } = context;
  const publicUrl = new URL(config.publicUri);
  await lifecycle.start(
    'plain-HTTP port',
    () =>
      startHttpPort({
        bindIp: config.bindIp,
        port: config.https.httpPort,
        httpsPort: Number(publicUrl.port || 443),
        challenge: (token) => certificates.httpChallenges.answer(token),
        // A custom domain asked for over plain HTTP gets its certificate before the browser follows to https.
        ...(custom
          ? {
              beforeRedirect: async (name: string) => {
                await custom.domains.certificateFor(name);
              },
            }
          : {}),
        logger: logger.child({ component: 'http-port' }),
      }),
    (port) => port.stop(),
  );
}
