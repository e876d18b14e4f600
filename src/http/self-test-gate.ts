import { timingSafeEqual } from 'node:crypto';
import type { Server } from '@hapi/hapi';

export interface SelfTestGateStats {
  selfTestSuccess: boolean;
  uploadSuccess: boolean;
  httpSuccess: boolean;
  wsSuccess: boolean;
  running: boolean;
}

export interface SelfTestGateOptions {
  stats(): SelfTestGateStats;
  /** The per-process token the self test sends (the second word of its Authorization header). */
  bypassToken: string;
}

/** Routes that take money: closed while the self test has not passed. */
const PAID_ROUTES = new Set(['options /pods', 'post /pods', 'put /pods']);

function carriesToken(header: string | undefined, token: Buffer): boolean {
  const word = header?.split(' ')[1];
  if (word === undefined) return false;
  const given = Buffer.from(word);
  return given.length === token.length && timingSafeEqual(given, token);
}

/**
 * The self-test gate of a production host: until the self test has passed, the paid routes answer the
 * 503 Codius clients know (`Self Test Running` or `Self Test Failed` with the figures), so nobody pays a host that
 * cannot serve them. The rest of the API and the pod proxy stay open; the self test's own requests pass
 * with the per-process token.
 */
export function installSelfTestGate(server: Server, options: SelfTestGateOptions): void {
  const token = Buffer.from(options.bypassToken);
  server.ext('onPreAuth', (request, h) => {
    if (!PAID_ROUTES.has(`${request.method} ${request.route.path}`)) return h.continue;
    const stats = options.stats();
    if (stats.selfTestSuccess || carriesToken(request.headers.authorization as string | undefined, token))
      return h.continue;
    const message = stats.running ? 'Self Test Running' : 'Self Test Failed';
    return h.response({ message, stats }).code(503).takeover();
  });
}
