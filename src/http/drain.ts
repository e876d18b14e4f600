import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Graceful shutdown of the public listener for everything it serves, API routes and proxied pod traffic
 * alike. (hapi's own clean stop knows only its own requests: it would end the connections of proxied
 * requests still waiting for their pod.) Node's `server.close()` already refuses new connections and
 * closes idle ones; this makes the busy ones close once their response is done, instead of staying open
 * as idle keep-alive connections until a timeout.
 */
export interface ConnectionDrain {
  /** Called for every request the listener receives. */
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

export function createConnectionDrain(): ConnectionDrain {
  const inFlight = new Set<ServerResponse>();
  const state = { draining: false };
  return {
    track(req, res) {
      if (state.draining) {
        closeAfter(req, res);
        return;
      }
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
    },
    begin() {
      if (state.draining) return;
      state.draining = true;
      for (const res of inFlight) closeAfter(res.req, res);
      inFlight.clear();
    },
    draining: () => state.draining,
  };
}
