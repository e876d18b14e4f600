import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PodProxy } from '../proxy/pod-proxy.js';
import type { ConnectionDrain } from './drain.js';
import { writeRawError } from '../proxy/responses.js';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type ClientErrorListener = (error: Error & { code?: string }, socket: Duplex) => void;

/**
 * Puts the pod proxy in front of the routes on the public listener: every request is offered to the proxy
 * first and reaches hapi's own listeners only if its Host is not a pod hostname, so proxied traffic costs
 * no framework work; `fastAnswer` may then answer the hottest API requests itself. Upgrades go to the
 * proxy (hapi serves none). Every request is also tracked by `drain` for a graceful shutdown. Call once,
 * after hapi has attached to the listener.
 */
export function putPodProxyInFront(
  listener: Server,
  proxy: PodProxy,
  drain: ConnectionDrain,
  fastAnswer: (req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): void {
  for (const event of ['request', 'checkContinue'] as const) {
    const routed = listener.listeners(event) as RequestListener[];
    listener.removeAllListeners(event);
    const expectsContinue = event === 'checkContinue';
    listener.on(event, (req: IncomingMessage, res: ServerResponse) => {
      drain.track(req, res);
      if (proxy.handleRequest(req, res, expectsContinue)) return;
      if (fastAnswer(req, res)) return;
      for (const next of routed) next.call(listener, req, res);
    });
  }
  listener.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    proxy.handleUpgrade(req, socket, head);
  });

  // A request Node's parser refuses (malformed, or framing used for smuggling) has no response object;
  // answer it with a complete JSON 400 instead of the bare status line, unless a response is under way
  // on that connection, which hapi's own handler deals with.
  const previous = listener.listeners('clientError') as ClientErrorListener[];
  listener.removeAllListeners('clientError');
  listener.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    const busy = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
    if (error.code?.startsWith('HPE_') && socket.writable && !busy) {
      if (error.code === 'HPE_HEADER_OVERFLOW') writeRawError(socket, 431, 'request headers too large');
      else writeRawError(socket, 400, `malformed request (${error.code})`);
      return;
    }
    for (const next of previous) next.call(listener, error, socket);
  });
}
