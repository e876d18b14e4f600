import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Graceful shutdown of the public listener for everything it serves, API routes and proxied pod traffic
 * alike. (hapi's own clean stop knows only its own requests: it would end the connections of proxied
 * requests still waiting for their pod.) Node's `server.close()` already refuses new connections and
 * closes idle ones; this makes the busy ones close once their response is done, instead of staying open
 * as idle keep-alive connections until a timeout.
 */
export interface ConnectionDrain {
  /** Called for every request the listener receives (one flag check: it is on the proxy's hot path). */
  track(req: IncomingMessage, res: ServerResponse): void;
  /** From now on, every response in flight or to come closes its connection when it is done. */
  begin(): void;
  draining(): boolean;
}

function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) {
    // Node then sends `Connection: close` and closes the socket after the response.
    res.shouldKeepAlive = false;
    return;
  }
  const socket = req.socket;
  res.once('finish', () => socket.end());
}

/**
 * Tracks the listener's connections (not its requests, so the per-request cost is nil). At begin(), the
 * response a connection is serving is found through Node's socket-to-response link `_httpMessage`, the
 * same one Node's own HTTP server uses to order responses.
 */
export function createConnectionDrain(listener: Server): ConnectionDrain {
  const sockets = new Set<Socket>();
  const state = { draining: false };
  listener.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    track(req, res) {
      if (state.draining) closeAfter(req, res);
    },
    begin() {
      if (state.draining) return;
      state.draining = true;
      for (const socket of sockets) {
        const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (res && !res.writableFinished) closeAfter(res.req, res);
      }
    },
    draining: () => state.draining,
  };
}
