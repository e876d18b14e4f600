import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from '../net/undici-pool.js';
import { RuntimeApiError, RuntimeUnavailableError } from './errors.js';

/** A request to an HTTP API served on a unix socket (libpod, hyperd). */
export interface UnixRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, already encoded. */
  path: string;
  /** Sent as JSON when present. */
  json?: unknown;
  /** A streamed body of another type (an image tarball), instead of JSON. */
  raw?: { body: Readable; contentType: string };
  /** Deadline for the whole exchange, headers and body: the call fails when it passes. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface UnixResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A response whose body is read as it comes (logs, events). Destroying `body` ends the request. */
export interface UnixStream {
  status: number;
  body: Readable;
}

export interface UnixHttpClient {
  readonly socketPath: string;
  /** A control call: sends a request and reads the whole body within its deadline. */
  request(request: UnixRequest): Promise<UnixResponse>;
  /**
   * A streaming call, on connections of its own: however many streams are open, control calls still get
   * a connection. Resolves once the headers arrive; `signal` aborts it.
   */
  stream(request: Omit<UnixRequest, 'timeoutMs'>): Promise<UnixStream>;
  /** Closes every connection; streams still open are destroyed. */
  close(): void;
}

/** Connection-level failures that mean "nothing is serving on that socket". */
const UNAVAILABLE_CODES = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EACCES',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
/** Control calls in flight at once; more wait for a connection. The APIs are local, so a few suffice. */
const CONTROL_CONNECTIONS = 8;

function describe(request: Pick<UnixRequest, 'method' | 'path'>): string {
  return `${request.method} ${request.path.split('?')[0] ?? ''}`;
}

/**
 * An HTTP client for a runtime's unix socket over undici: one pool of keep-alive connections for control
 * calls, each bounded by a deadline that aborts it, and another pool for streams, so a log follower can
 * never take the connection a pod start needs.
 */
export function createUnixHttpClient(socketPath: string, defaultTimeoutMs = 30_000): UnixHttpClient {
  const options = { socketPath, pipelining: 1, keepAliveTimeout: 4_000, headersTimeout: 0, bodyTimeout: 0 };
  const control = new Pool('http://localhost', { ...options, connections: CONTROL_CONNECTIONS });
  const streams = new Pool('http://localhost', { ...options, connections: null });

  function connectionError(request: UnixRequest, error: Error & { code?: string }): Error {
    if (error instanceof RuntimeApiError || error.name === 'AbortError') return error;
    if (error.code !== undefined && UNAVAILABLE_CODES.has(error.code)) {
      return new RuntimeUnavailableError(`${socketPath}: ${error.code}`, { cause: error });
    }
    return new RuntimeApiError(0, `${describe(request)} failed: ${error.message}`, { cause: error });
  }

  function send(pool: Pool, request: UnixRequest, signal: AbortSignal | undefined) {
    const body = request.raw?.body ?? (request.json === undefined ? undefined : JSON.stringify(request.json));
    const contentType = request.raw?.contentType ?? 'application/json';
    return pool.request({
      method: request.method,
      path: request.path,
      // Both hyperd and libpod ignore Host; undici sends `localhost` from the origin.
      headers: body === undefined ? {} : { 'content-type': contentType },
      ...(body === undefined ? {} : { body }),
      ...(signal ? { signal } : {}),
    });
  }

  return {
    socketPath,
    async request(request) {
      const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
      const deadline = new AbortController();
      const timer = setTimeout(() => {
        deadline.abort(new RuntimeApiError(0, `${describe(request)} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onCallerAbort = (): void => deadline.abort(request.signal?.reason);
      request.signal?.addEventListener('abort', onCallerAbort, { once: true });
      try {
        const response = await send(control, request, deadline.signal);
        const body = Buffer.from(await response.body.arrayBuffer());
        return { status: response.statusCode, headers: response.headers, body };
      } catch (error) {
        throw connectionError(request, error as Error & { code?: string });
      } finally {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onCallerAbort);
      }
    },
    async stream(request) {
      try {
        const response = await send(streams, request, request.signal);
        return { status: response.statusCode, body: response.body };
      } catch (error) {
        throw connectionError(request, error as Error & { code?: string });
      }
    },
    close() {
      for (const pool of [control, streams]) pool.destroy().catch(() => undefined);
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
