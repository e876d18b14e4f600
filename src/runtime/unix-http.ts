import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { RuntimeApiError, RuntimeUnavailableError } from './errors.js';

/** A request to an HTTP API served on a unix socket (libpod, hyperd). */
export interface UnixRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, already encoded. */
  path: string;
  /** Sent as JSON when present. */
  json?: unknown;
  /** Overall deadline for the whole exchange (headers and body). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface UnixResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface UnixHttpClient {
  readonly socketPath: string;
  /** Sends a request and reads the whole body. Rejects only when no response could be had. */
  request(request: UnixRequest): Promise<UnixResponse>;
  /** Sends a request and resolves with the response as soon as its headers arrive (for streams). */
  stream(request: Omit<UnixRequest, 'timeoutMs'>): Promise<IncomingMessage>;
  close(): void;
}

/** Connection-level failures that mean "nothing is serving on that socket". */
const UNAVAILABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EACCES']);

export function createUnixHttpClient(socketPath: string, defaultTimeoutMs = 30_000): UnixHttpClient {
  // Keep-alive saves a connect per call; the APIs are local, so a handful of sockets is plenty.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  function send(request: UnixRequest, onResponse: (response: IncomingMessage) => void): http.ClientRequest {
    const body = request.json === undefined ? undefined : Buffer.from(JSON.stringify(request.json));
    const outgoing = http.request({
      agent,
      socketPath,
      method: request.method,
      path: request.path,
      // Both hyperd and libpod ignore Host; a fixed value keeps Node from inventing one from the socket.
      headers: {
        host: 'localhost',
        ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
      },
      ...(request.signal ? { signal: request.signal } : {}),
    });
    outgoing.once('response', onResponse);
    outgoing.end(body);
    return outgoing;
  }

  function describe(request: Pick<UnixRequest, 'method' | 'path'>): string {
    return `${request.method} ${request.path.split('?')[0] ?? ''}`;
  }

  function connectionError(request: UnixRequest, error: NodeJS.ErrnoException): Error {
    if (error.name === 'AbortError') return error;
    if (error.code !== undefined && UNAVAILABLE_CODES.has(error.code)) {
      return new RuntimeUnavailableError(`${socketPath}: ${error.code}`, { cause: error });
    }
    return new RuntimeApiError(0, `${describe(request)} failed: ${error.message}`, { cause: error });
  }

  return {
    socketPath,
    request(request) {
      const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
      return new Promise<UnixResponse>((resolve, reject) => {
        const timer = setTimeout(() => {
          outgoing.destroy(new RuntimeApiError(0, `${describe(request)} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        const outgoing = send(request, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.once('end', () => {
            clearTimeout(timer);
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks),
            });
          });
          response.once('error', (error) => {
            clearTimeout(timer);
            reject(connectionError(request, error));
          });
        });
        outgoing.once('error', (error) => {
          clearTimeout(timer);
          reject(error instanceof RuntimeApiError ? error : connectionError(request, error));
        });
      });
    },
    stream(request) {
      return new Promise<IncomingMessage>((resolve, reject) => {
        const outgoing = send(request, resolve);
        outgoing.once('error', (error) => {
          reject(connectionError(request, error));
        });
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/** Parses a JSON body, or explains what came back instead. */
export function parseJson(response: UnixResponse, what: string): unknown {
  try {
    return JSON.parse(response.body.toString('utf8')) as unknown;
  } catch {
    throw new RuntimeApiError(response.status, `${what}: expected JSON, got ${describeBody(response)}`);
  }
}

/** A short, single-line rendering of an error body for messages and logs. */
export function describeBody(response: UnixResponse): string {
  const text = response.body.toString('utf8').trim().replace(/\s+/g, ' ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text || `(empty, status ${response.status})`;
}
