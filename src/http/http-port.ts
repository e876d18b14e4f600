import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';

export interface HttpPortOptions {
  bindIp: string;
  port: number;
  /** The https port browsers are sent to (the public URI's). */
  httpsPort: number;
  /** The key authorization of an HTTP-01 token being validated now. */
  challenge: (token: string) => string | undefined;
  /**
   * A name is asked for over plain HTTP: the moment to obtain its certificate (custom domains) before the
   * browser follows the redirect. Resolves when there is nothing more to wait for.
   */
  beforeRedirect?: (host: string) => Promise<void>;
  logger: Logger;
}

export interface HttpPort {
  port(): number;
  stop(): Promise<void>;
}

const CHALLENGE_PATH = '/.well-known/acme-challenge/';
/** A host name, optionally with a port: nothing else may go into a Location header. */
const HOST_HEADER =
  /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?(:\d{1,5})?$/i;

function answer(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/**
 * The plain-HTTP port beside TLS: it answers ACME HTTP-01 challenges and sends everything else to the
 * same URL over https (308, which keeps the method and body).
 */
export async function startHttpPort(options: HttpPortOptions): Promise<HttpPort> {
  const { logger } = options;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    if (path.startsWith(CHALLENGE_PATH)) {
      const proof = options.challenge(path.slice(CHALLENGE_PATH.length));
      if (proof === undefined) answer(res, 404, 'no such ACME challenge\n');
      else answer(res, 200, proof);
      return;
    }
    const host = req.headers.host ?? '';
    if (!HOST_HEADER.test(host)) {
      answer(res, 400, 'a Host header naming this server is required\n');
      return;
    }
    const name = (host.split(':')[0] as string).replace(/\.$/, '').toLowerCase();
    await options.beforeRedirect?.(name);
    const port = options.httpsPort === 443 ? '' : `:${options.httpsPort}`;
    const location = `https://${name}${port}${path.startsWith('/') ? path : '/'}`;
    answer(res, 308, `moved to ${location}\n`, { location });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'plain-HTTP port request failed');
      if (!res.headersSent) answer(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.bindIp, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info(
    { port: (server.address() as AddressInfo).port },
    'plain-HTTP port: ACME challenges and redirects to https',
  );
  return {
    port: () => (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
