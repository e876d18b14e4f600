import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ManifestHash } from '../domain/types.js';
import { describeUpstreamError } from './exchange.js';
import { writeRawError } from './responses.js';
import type { PodRouter, Routed } from './routing.js';
import { openTunnel } from './tunnel.js';
import type { ClientShares } from './client-shares.js';

/** WebSocket (and any other) upgrades to pods, each a tunnel counted against its pod's limit. */
export interface UpgradeHandler {
  /** Handles an upgrade request; always answers, since only pods serve upgrades. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every tunnel (clients see the connection close and may reconnect), or destroys them with `force`. */
  closeAll(force: boolean): void;
}

export function createUpgradeHandler(options: {
  router: PodRouter;
  maxConnectionsPerPod: number;
  tunnelShares: ClientShares;
  timeoutMs: number;
  logFailure: (hash: ManifestHash, status: number, error: Error & { code?: string }) => void;
}): UpgradeHandler {
  const { router, logFailure } = options;
  /** Client sockets of open (or opening) tunnels. */
  const sockets = new Set<Duplex>();

  function handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const hash = router.podHashOf(req.headers.host);
    if (hash === null) {
      writeRawError(socket, 404, 'upgrades are served only on pod hostnames (<manifest hash>.<host>)');
      return;
    }
    const routed = router.route(req, hash, true);
    if (routed instanceof Promise) {
      routed.then(
        (late) => open(req, socket, head, hash, late),
        () => writeRawError(socket, 503, `pod ${hash} cannot be looked up right now; try again shortly`),
      );
    } else open(req, socket, head, hash, routed);
  }

  function open(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    hash: ManifestHash,
    routed: Routed,
  ): void {
    if (!routed.ok) {
      writeRawError(socket, routed.status, routed.message);
      return;
    }
    const { upstream } = routed;
    if (upstream.tunnels >= options.maxConnectionsPerPod) {
      writeRawError(socket, 503, `pod ${hash} has too many open WebSocket connections; try again later`);
      return;
    }
    const share = `${hash} ${routed.client}`;
    if (!options.tunnelShares.take(share)) {
      writeRawError(socket, 429, `too many WebSocket connections from this client to pod ${hash}`);
      return;
    }
    upstream.tunnels += 1;
    sockets.add(socket);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      upstream.tunnels -= 1;
      sockets.delete(socket);
      options.tunnelShares.give(share);
    };
    const target = {
      host: upstream.host,
      port: upstream.port,
      method: req.method ?? 'GET',
      path: routed.path,
      headers: routed.headers,
      timeoutMs: options.timeoutMs,
    };
    openTunnel(
      req,
      socket,
      head,
      target,
      (outcome) => {
        if (outcome.kind === 'upgraded') return; // released when the tunnel closes
        release();
        if (outcome.kind === 'timeout') {
          logFailure(hash, 504, Object.assign(new Error('timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
          writeRawError(socket, 504, `pod ${hash} did not answer in time`);
        } else if (outcome.kind === 'failed') {
          const { status, message } = describeUpstreamError(outcome.error, hash, upstream.port);
          logFailure(hash, status, outcome.error);
          writeRawError(socket, status, message);
        }
      },
      release,
    );
  }

  return {
    handle,
    closeAll(force) {
      for (const socket of sockets) {
        if (force) socket.destroy();
        else socket.end();
      }
    },
  };
}
