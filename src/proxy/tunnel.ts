import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { downstreamResponseHeaders } from './headers.js';

export interface TunnelTarget {
  host: string;
  port: number;
  method: string;
  path: string;
  headers: string[];
  /** Connect-and-answer limit, then the longest silence allowed on the open tunnel. */
  timeoutMs: number;
}

/** How an upgrade attempt ended, for the caller's error response and bookkeeping. */
export type TunnelOutcome =
  | { kind: 'upgraded' }
  | { kind: 'answered'; status: number }
  | { kind: 'failed'; error: NodeJS.ErrnoException }
  | { kind: 'timeout' };

function headBlock(statusLine: string, headers: readonly string[]): string {
  let head = `${statusLine}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i] ?? ''}: ${headers[i + 1] ?? ''}\r\n`;
  return `${head}\r\n`;
}

/** Joins two sockets both ways; a FIN is passed on (clean close), an error or timeout tears both down. */
function splice(client: Duplex, pod: Socket, idleMs: number, onClosed: () => void): void {
  let closed = false;
  const teardown = (): void => {
    client.destroy();
    pod.destroy();
    if (!closed) {
      closed = true;
      onClosed();
    }
  };
  for (const socket of [client, pod]) {
    socket.on('error', teardown);
    socket.on('close', teardown);
  }
  pod.setTimeout(idleMs, teardown);
  pod.setNoDelay(true);
  if ('setTimeout' in client && typeof client.setTimeout === 'function') {
    (client as Socket).setTimeout(idleMs, teardown);
    (client as Socket).setNoDelay(true);
  }
  client.pipe(pod);
  pod.pipe(client);
}

/**
 * Proxies an HTTP upgrade (WebSocket) to a pod. A 101 from the pod is passed on with its headers and the two
 * sockets are joined; any other answer is passed on as an ordinary response and the connection closed.
 * `onSettled` is called once with the outcome; for an upgraded tunnel `onClosed` follows when it ends.
 */
export function openTunnel(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  target: TunnelTarget,
  onSettled: (outcome: TunnelOutcome) => void,
  onClosed: () => void,
): void {
  const upstream = httpRequest({
    host: target.host,
    port: target.port,
    method: target.method,
    path: target.path,
    headers: target.headers,
    agent: false,
    timeout: target.timeoutMs,
  });
  let settled = false;
  const settle = (outcome: TunnelOutcome): void => {
    if (settled) return;
    settled = true;
    onSettled(outcome);
  };
  // The client left before the pod answered.
  const abandon = (): void => {
    if (!settled) upstream.destroy();
  };
  client.once('close', abandon);

  upstream.on('upgrade', (response: IncomingMessage, pod: Socket, podHead: Buffer) => {
    client.off('close', abandon);
    if (client.destroyed) {
      pod.destroy();
      settle({ kind: 'upgraded' });
      onClosed();
      return;
    }
    settle({ kind: 'upgraded' });
    const status = response.statusCode ?? 101;
    // Upgrade and Connection must reach the client here: they are what a 101 is about.
    const headers: string[] = [];
    for (let i = 0; i < response.rawHeaders.length; i += 2) {
      headers.push(response.rawHeaders[i] ?? '', response.rawHeaders[i + 1] ?? '');
    }
    client.write(headBlock(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Switching Protocols'}`, headers));
    if (podHead.length > 0) client.write(podHead);
    if (head.length > 0) pod.write(head);
    splice(client, pod, target.timeoutMs, onClosed);
  });

  upstream.on('response', (response: IncomingMessage) => {
    client.off('close', abandon);
    const status = response.statusCode ?? 502;
    settle({ kind: 'answered', status });
    // No length is known once the body is re-framed, so the body ends with the connection.
    const headers = downstreamResponseHeaders(response.rawHeaders);
    const filtered: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if ((headers[i] ?? '').toLowerCase() === 'content-length') continue;
      filtered.push(headers[i] ?? '', headers[i + 1] ?? '');
    }
    filtered.push('Connection', 'close');
    client.write(headBlock(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, filtered));
    response.pipe(client);
    response.on('error', () => client.destroy());
  });

  upstream.on('timeout', () => {
    // Only while waiting for the answer: an open tunnel has its own idle timer.
    if (settled) return;
    settle({ kind: 'timeout' });
    upstream.destroy();
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    client.off('close', abandon);
    settle({ kind: 'failed', error });
  });
  upstream.end();
}
