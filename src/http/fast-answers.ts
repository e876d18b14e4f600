import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { errorBody } from '../proxy/responses.js';
import { logRequest } from './request-log.js';

export interface FastAnswerSources {
  /** The /version body, fixed for the life of the process. */
  version: { name: string; version: string };
  /** The /info body without peers, as JSON (peers are listed only on request, by the route). */
  infoJson(): string | Promise<string>;
  logger: Logger;
}

/** The headers hapi gives these JSON answers, so both paths are the same on the wire. */
function headersFor(body: string): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-cache',
    'content-length': String(Buffer.byteLength(body)),
    'accept-ranges': 'bytes',
  };
}

/**
 * Answers `GET /version` and `GET /info` (the endpoints peers, clients and monitors poll) without the
 * framework: the same status, headers, body and log line as the hapi routes, at a fraction of the work
 * per request. Returns false for everything else (including `/info?requestPeers=true` and any other
 * query or method), which the routes answer.
 */
export function createFastAnswers(
  sources: FastAnswerSources,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const versionBody = JSON.stringify(sources.version);
  const versionHeaders = headersFor(versionBody);
  const { logger } = sources;
  const logLine = (method: string, path: string, status: number, started: number): void => {
    logRequest(logger, { method, path, status, ms: Date.now() - started });
  };
  // The same body (it holds for 10 ms) is answered with the same headers object.
  let infoHeaders = { body: '', headers: headersFor('') };
  const answerInfo = (res: ServerResponse, body: string, started: number): void => {
    if (infoHeaders.body !== body) infoHeaders = { body, headers: headersFor(body) };
    res.writeHead(200, infoHeaders.headers);
    res.end(body);
    logLine('GET', '/info', 200, started);
  };

  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url;
    if (url === '/version') {
      const started = Date.now();
      res.writeHead(200, versionHeaders);
      res.end(method === 'HEAD' ? undefined : versionBody);
      logLine(method, url, 200, started);
      return true;
    }
    if (url === '/info' && method === 'GET') {
      const started = Date.now();
      const json = sources.infoJson();
      if (typeof json === 'string') {
        answerInfo(res, json, started);
        return true;
      }
      json.then(
        (body) => answerInfo(res, body, started),
        (error: unknown) => {
          logger.error({ err: error, method, path: url }, 'request failed');
          const body = errorBody(500, 'An internal server error occurred');
          res.writeHead(500, headersFor(body));
          res.end(body);
          logLine(method, url, 500, started);
        },
      );
      return true;
    }
    return false;
  };
}
