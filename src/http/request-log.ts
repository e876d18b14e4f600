import type { Logger } from '../logger.js';

/** One answered request, as logged: the path only (never the query, headers or body). */
export interface RequestLine {
  method: string;
  path: string;
  status: number;
  ms: number;
}

/**
 * Logs an answered request. Reads that succeed are routine (peers, monitors and dashboards poll `/info`
 * and `/version` all day), so they go at debug; requests that change something and requests that fail go
 * at info. A busy host's journal then holds what an operator looks for, and a poll costs no log write.
 */
export function logRequest(logger: Logger, line: RequestLine): void {
  const routine = (line.method === 'GET' || line.method === 'HEAD') && line.status > 0 && line.status < 400;
  if (routine) {
    if (logger.isLevelEnabled('debug')) logger.debug(line, 'request');
  } else logger.info(line, 'request');
}
