import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.js';

/** While the address cannot be bound yet (no bridge), binding is tried again this often. */
const RETRY_MS = 2_000;
/** BTP connections from one address (one pod) at once, and from all pods: a pod's apps need a few. */
export const MAX_CONNECTIONS_PER_POD = 8;
export const MAX_CONNECTIONS = 1_024;

/**
 * The port pods reach the connector on, bound to one address of the host (the pod network's gateway),
 * never the wildcard: the ILP provider listens on the same port number on loopback. The bridge that
 * carries the gateway may not exist while no pod runs, so binding is retried until it does (and at once
 * when asked, e.g. when a pod starts). Once bound, the socket keeps working across bridge restarts.
 */
export interface PodEndpoint {
  start(): void;
  /** Tries to bind now if not bound yet. */
  poke(): void;
  /** `host:port` once bound. */
  bound(): string | null;
  stop(): Promise<void>;
}

export function createPodEndpoint(options: {
  host: string;
  port: number;
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Plain HTTP requests (not BTP); 426 when absent. */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => void;
  logger: Logger;
  limits?: { perAddress: number; total: number };
}): PodEndpoint {
  const { host, port, logger } = options;
  const limits = options.limits ?? { perAddress: MAX_CONNECTIONS_PER_POD, total: MAX_CONNECTIONS };
  const perAddress = new Map<string, number>();
  let server: Server | undefined;
  let listening = false;
  let binding = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;
  /** Upgraded (BTP) connections, which the HTTP server no longer tracks. */
  const sockets = new Set<Duplex>();

  function bind(): void {
    if (stopped || listening || binding) return;
    binding = true;
    clearTimeout(timer);
    const candidate = createServer((req, res) => {
      if (options.onRequest) {
        options.onRequest(req, res);
        return;
      }
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end('BTP over WebSocket only\n');
    });
    candidate.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const address = req.socket.remoteAddress ?? '';
      const fromAddress = perAddress.get(address) ?? 0;
      if (fromAddress >= limits.perAddress || sockets.size >= limits.total) {
        // Past the upgrade, the socket has no error listener of the server's: a reset must not throw.
        socket.on('error', () => socket.destroy());
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      perAddress.set(address, fromAddress + 1);
      sockets.add(socket);
      socket.once('close', () => {
        sockets.delete(socket);
        const left = (perAddress.get(address) ?? 1) - 1;
        if (left > 0) perAddress.set(address, left);
        else perAddress.delete(address);
      });
      options.onUpgrade(req, socket, head);
    });
    candidate.once('error', (error: NodeJS.ErrnoException) => {
      binding = false;
      if (error.code !== 'EADDRNOTAVAIL' || !warned) {
        logger.info({ host, port, code: error.code }, 'pod ILP endpoint not bound yet; retrying');
        warned = true;
      }
      if (!stopped) timer = setTimeout(bind, RETRY_MS);
    });
    candidate.listen(port, host, () => {
      binding = false;
      listening = true;
      server = candidate;
      candidate.on('error', (error) => logger.error({ err: error }, 'pod ILP endpoint failed'));
      logger.info({ host, port }, 'pod ILP endpoint listening');
    });
  }

  return {
    start: bind,
    poke: bind,
    bound: () => (listening ? `${host}:${port}` : null),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (!server) return;
      const closing = server;
      server = undefined;
      closing.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}
