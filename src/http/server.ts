import type { TlsOptions } from 'node:tls';
import type { Boom } from '@hapi/boom';
import Hapi from '@hapi/hapi';
import { CodiusError } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import { logRequest } from './request-log.js';
import { toBoom } from './error-table.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Largest request body accepted (413 beyond); 1 MiB, hapi's default, unless configured. */
  maxPayloadBytes?: number;
  /** Against slow clients: time allowed to send the request headers. */
  headersTimeoutMs?: number;
  /** Against slow clients: time allowed to send the whole request. */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this; longer than a fronting nginx's 60 s upstream keep-alive. */
  keepAliveTimeoutMs?: number;
  /**
   * false when the caller drains connections itself (see http/drain.ts): hapi's clean stop would end
   * connections whose requests it does not own. Default true.
   */
  cleanStop?: boolean;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: Buffer; key: Buffer; SNICallback?: TlsOptions['SNICallback'] };
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * A hapi server with codiusd's defaults: JSON-only bodies of at most 1 MiB, JSON errors (domain errors
 * answered from the error table), Node server timeouts set, and one structured log line per request.
 * Routes are added by the caller.
 */
export function createHttpServer(options: HttpServerOptions): Hapi.Server {
  const server = Hapi.server({
    host: options.host,
    port: options.port,
    operations: { cleanStop: options.cleanStop ?? true },
    ...(options.tls ? { tls: options.tls } : {}),
    routes: {
      payload: {
        maxBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        allow: ['application/json'],
      },
    },
  });

  const listener = server.listener;
  listener.headersTimeout = options.headersTimeoutMs ?? 20_000;
  listener.requestTimeout = options.requestTimeoutMs ?? 300_000;
  listener.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;

  // Domain errors leave handlers as CodiusErrors; the error table says how each is answered. Done before
  // hapi finalises the response, so a client error is never logged as a failed request.
  server.ext('onPreResponse', (request, h) => {
    const response = request.response;
    return response instanceof CodiusError ? toBoom(response) : h.continue;
  });

  const log = options.logger;
  server.events.on('response', (request) => {
    // Null when the client went away before a response was produced.
    const response = request.response as Hapi.ResponseObject | Boom | null;
    const status =
      response === null ? 0 : 'isBoom' in response ? response.output.statusCode : response.statusCode;
    // Path only: query strings and bodies are never logged.
    logRequest(log, {
      method: request.method.toUpperCase(),
      path: request.path,
      status,
      ms: Date.now() - request.info.received,
    });
  });
  server.events.on({ name: 'request', channels: 'error' }, (request, event) => {
    log.error(
      { err: event.error, method: request.method.toUpperCase(), path: request.path },
      'request failed',
    );
  });

  return server;
}
