import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

/** Where to connect instead of resolving the URL's host; the Host header and TLS name stay the URL's. */
export interface ConnectTo {
  host: string;
  port: number;
}

export interface PublicResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface PublicRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  connectTo: ConnectTo | null;
  timeoutMs: number;
  /** Certificates to trust besides the system's (a test's own certificate authority). */
  ca?: string | Buffer;
}

const MAX_BODY_BYTES = 1024 * 1024;

function requestOptions(url: URL, init: PublicRequest): https.RequestOptions {
  const secure = url.protocol === 'https:';
  return {
    method: init.method,
    host: init.connectTo?.host ?? url.hostname.replace(/^\[|\]$/g, ''),
    port: init.connectTo?.port ?? (url.port ? Number(url.port) : secure ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    headers: { host: url.host, ...init.headers },
    agent: false,
    ...(secure ? { servername: url.hostname, ...(init.ca ? { ca: init.ca } : {}) } : {}),
  };
}

/** One HTTP(S) request exactly as a browser on the public URL would make it, body read up to 1 MiB. */
export function publicRequest(target: string, init: PublicRequest): Promise<PublicResponse> {
  const url = new URL(target);
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const request = send(requestOptions(url, init), (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) request.destroy(new Error(`${url.origin} sent more than 1 MiB`));
        else chunks.push(chunk);
      });
      response.once('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      response.once('error', reject);
    });
    request.setTimeout(init.timeoutMs, () =>
      request.destroy(new Error(`${url.origin} did not answer within ${init.timeoutMs} ms`)),
    );
    request.once('error', reject);
    request.end(init.body);
  });
}

/** The payload of the first unfragmented text frame in `data`, or null until it is complete. */
function firstTextFrame(data: Buffer): string | null {
  if (data.length < 2) return null;
  const opcode = (data[0] ?? 0) & 0x0f;
  let length = (data[1] ?? 0) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return null;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    throw new Error('the WebSocket greeting is larger than the self test reads');
  }
  if (data.length < offset + length) return null;
  if (opcode !== 0x1) throw new Error(`the first WebSocket frame has opcode ${opcode}, not text`);
  return data.subarray(offset, offset + length).toString('utf8');
}

/** Opens a WebSocket to the URL (ws for http, wss for https) and returns the first text message. */
export function firstWebSocketMessage(
  target: string,
  init: Omit<PublicRequest, 'method' | 'body'>,
): Promise<string> {
  const url = new URL(target);
  const send = url.protocol === 'https:' ? https.request : http.request;
  const headers = {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': randomBytes(16).toString('base64'),
  };
  return new Promise((resolve, reject) => {
    const request = send(requestOptions(url, { ...init, method: 'GET', headers }));
    const timer = setTimeout(() => {
      request.destroy(new Error(`no WebSocket message from ${url.origin} within ${init.timeoutMs} ms`));
    }, init.timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    request.once('error', fail);
    request.once('response', (response) => {
      response.resume();
      fail(new Error(`the WebSocket upgrade was answered ${response.statusCode ?? 0}`));
    });
    request.once('upgrade', (_response, socket: Duplex, head: Buffer) => {
      let data = head;
      const read = (chunk?: Buffer): void => {
        if (chunk) data = Buffer.concat([data, chunk]);
        try {
          const text = firstTextFrame(data);
          if (text === null) return;
          clearTimeout(timer);
          socket.destroy();
          resolve(text);
        } catch (error) {
          socket.destroy();
          fail(error as Error);
        }
      };
      socket.on('data', read);
      socket.once('error', fail);
      read();
    });
    request.end();
  });
}
