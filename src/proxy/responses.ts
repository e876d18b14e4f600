import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** The JSON error body every codiusd error uses (the shape hapi/boom gives the API routes). */
export function errorBody(status: number, message: string): string {
  return JSON.stringify({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
}

export interface ErrorOptions {
  /** Close the connection after the response (the request's body may not have been read). */
  close?: boolean;
  retryAfterSeconds?: number;
}

/** Answers a proxied request with a JSON error, unless the response has already begun. */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  options: ErrorOptions = {},
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = errorBody(status, message);
  const headers = [
    'Content-Type',
    'application/json; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(body)),
    'Cache-Control',
    'no-cache',
  ];
  if (options.retryAfterSeconds !== undefined) headers.push('Retry-After', String(options.retryAfterSeconds));
  if (options.close) headers.push('Connection', 'close');
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * The same JSON error written straight to a raw socket, for upgrade requests and parse errors, which have
 * no response object. A complete HTTP/1.1 message, then the connection is closed.
 */
export function writeRawError(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorBody(status, message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-cache\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}
